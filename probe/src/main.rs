//! `wellknownd-probe DOMAIN ...`, also run as `wellknownd probe DOMAIN ...` (the daemon's
//! binary execs this one, installed beside it).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use wellknownd_probe::options;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    args.next_if(|a| a == "probe");
    let args: Vec<String> = args.collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{}", options::USAGE);
        return ExitCode::SUCCESS;
    }
    match options::parse(args.into_iter()) {
        Ok(options) => ExitCode::from(options::run(&options)),
        Err(e) => {
            eprintln!("wellknownd probe: {e}");
            ExitCode::from(2)
        }
    }
}
