//! `wellknownd probe DOMAIN ...`: a binary of its own so that the daemon links none of the
//! probe's code (see `exec_probe` in main.rs). Also runs on its own: `wellknownd-probe DOMAIN`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use wellknownd::{cli, probe};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    args.next_if(|a| a == "probe");
    let args: Vec<String> = args.collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{}", cli::USAGE);
        return ExitCode::SUCCESS;
    }
    match cli::parse_probe(args.into_iter()) {
        Ok(options) => ExitCode::from(probe::run(&options)),
        Err(e) => {
            eprintln!("wellknownd probe: {e}");
            ExitCode::from(2)
        }
    }
}
