#![forbid(unsafe_code)]

use std::process::ExitCode;

use wellknownd::cli::{self, Command};
use wellknownd::{check, log, run};

fn main() -> ExitCode {
    match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Run { config }) => match run::run(&config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                log::error(e);
                ExitCode::FAILURE
            }
        },
        Ok(Command::Check {
            config,
            no_tls,
            quiet,
        }) => match check::run(&config, no_tls) {
            Ok(report) => {
                for line in report.warnings {
                    eprintln!("warning: {line}");
                }
                if !quiet {
                    print!("{}", report.text);
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Ok(Command::Probe(options)) => ExitCode::from(wellknownd::probe::run(&options)),
        Ok(Command::Version) => {
            println!("wellknownd {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Command::Help) => {
            print!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("wellknownd: {e}");
            ExitCode::from(2)
        }
    }
}
