#![forbid(unsafe_code)]

use std::os::unix::process::CommandExt;
use std::process::ExitCode;

use wellknownd::cli::{self, Command};
use wellknownd::{check, control, log, run};

fn exit(result: Result<(), run::StartError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error(e);
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Run { config }) => exit(run::run(&config)),
        Ok(Command::Acme { config }) => exit(run::acme(&config)),
        Ok(Command::Check {
            config,
            no_tls,
            quiet,
            credentials,
        }) => match check::run(&config, no_tls, credentials.as_deref()) {
            Ok(report) => {
                if !quiet {
                    print!("{}", report.text);
                }
                for line in &report.warnings {
                    eprintln!("warning: {line}");
                }
                for line in &report.refused {
                    eprintln!("clients would refuse: {line}");
                }
                let (verdict, code) = report.verdict(&config);
                if !quiet || code != 0 {
                    eprintln!("{verdict}");
                }
                ExitCode::from(code)
            }
            Err(e) => {
                for line in e.to_string().lines() {
                    eprintln!("error: {line}");
                }
                eprintln!("{}", check::failed(&config, e.count()));
                ExitCode::FAILURE
            }
        },
        Ok(Command::Reload) => reload(),
        Ok(Command::Probe(args)) => exec_probe(args),
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

/// `wellknownd reload`: 0 when the daemon serves the new state, 1 when it refused it, 2 when
/// it could not be asked.
fn reload() -> ExitCode {
    let Some(path) = control::socket_path() else {
        eprintln!(
            "wellknownd reload: no $RUNTIME_DIRECTORY, so no control socket to ask; outside systemd, send SIGHUP (kill -HUP PID) and read the log"
        );
        return ExitCode::from(2);
    };
    match control::request_reload(&path) {
        Ok(status) => {
            println!("{status}");
            ExitCode::SUCCESS
        }
        Err(control::ReloadError::Refused(why)) => {
            eprintln!("wellknownd reload: refused, still serving the previous state: {why}");
            ExitCode::FAILURE
        }
        Err(control::ReloadError::Unreachable(why)) => {
            eprintln!("wellknownd reload: {why}");
            ExitCode::from(2)
        }
    }
}

/// `wellknownd probe` is the `wellknownd-probe` binary installed beside this one: kept apart
/// so the daemon links (and maps) none of the probe's DNS resolver and client. Replaces this
/// process; returns only on error.
fn exec_probe(args: Vec<String>) -> ExitCode {
    let sibling = std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name("wellknownd-probe"))
        .filter(|p| p.exists());
    let program = sibling.unwrap_or_else(|| "wellknownd-probe".into());
    let e = std::process::Command::new(&program).args(args).exec();
    eprintln!(
        "wellknownd probe: cannot run {}: {e}; install it beside wellknownd (the package and the image hold both; from source, `cargo install --path probe`)",
        program.display()
    );
    ExitCode::from(2)
}
