//! The command line: `wellknownd [check] [--config PATH]`, `wellknownd probe DOMAIN`,
//! `--version`, `--help`.

use std::path::PathBuf;

use crate::config::DEFAULT_PATH;

pub const USAGE: &str = "\
wellknownd: serves the Matrix .well-known delegation documents over TLS

Usage:
  wellknownd [--config PATH]          run the daemon
  wellknownd check [--no-tls] [--credentials DIR] [--quiet] [--config PATH]    (or -t)
                                      validate the config and certificates, print what would be
                                      served; exit 0 if all is well (warnings allowed), 1 if
                                      the daemon would not start, 3 if it would start but
                                      clients would refuse a certificate (expired, not for its
                                      domain, its intermediate missing).
                                      --credentials DIR: read relative certificate paths in DIR,
                                      as the service does in $CREDENTIALS_DIRECTORY (the units:
                                      /etc/wellknownd/tls); --no-tls: do not read certificates
                                      (exit 0 or 1 only); --quiet: only warnings and errors
  wellknownd acme [--config PATH]     run the ACME client alone: order and renew the [acme]
                                      certificates into acme.state_dir, where the daemon (for
                                      instance the socket-activated one, which has no network)
                                      picks them up; until SIGTERM
  wellknownd reload                   ask the running daemon (under systemd, through the control
                                      socket in $RUNTIME_DIRECTORY) to reload its config and
                                      certificates, and wait for its verdict; exit 0 if it
                                      serves the new state, 1 if it refused it (the old state
                                      keeps serving), 2 if no daemon answered
  wellknownd probe DOMAIN [OPTIONS]   check a deployment from the outside, as remote servers,
                                      Element and browsers use it: runs wellknownd-probe,
                                      installed beside this binary (its options: wellknownd
                                      probe --help, or wellknownd-probe(1))
  wellknownd --version | --help

Options:
  -c, --config PATH   the config file (default /etc/wellknownd/config.toml)
";

#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Run {
        config: PathBuf,
    },
    Check {
        config: PathBuf,
        no_tls: bool,
        quiet: bool,
        /// Where relative certificate paths are read, as the service reads its credentials.
        credentials: Option<PathBuf>,
    },
    /// The ACME client alone, for a daemon without network.
    Acme {
        config: PathBuf,
    },
    /// Ask the running daemon to reload, and wait for its verdict.
    Reload,
    /// The arguments after `probe`, for the `wellknownd-probe` binary to parse.
    Probe(Vec<String>),
    Version,
    Help,
}

/// Parses the arguments after the program name; the error is a line for stderr.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut args = args.into_iter().peekable();
    if args.peek().is_some_and(|a| a == "probe") {
        args.next();
        return Ok(Command::Probe(args.collect()));
    }
    if args.peek().is_some_and(|a| a == "reload") {
        args.next();
        return match args.next() {
            None => Ok(Command::Reload),
            Some(arg) => Err(format!(
                "unexpected argument `{arg}` after reload (see --help)"
            )),
        };
    }
    let mut check = false;
    let mut acme = false;
    let mut no_tls = false;
    let mut quiet = false;
    let mut config = None;
    let mut credentials = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            // nginx's `-t` is `check`; the command word may come before or after the options.
            "check" | "-t" if !check && !acme => check = true,
            "acme" if !check && !acme => acme = true,
            "-c" | "--config" => {
                config = Some(args.next().ok_or_else(|| format!("{arg} needs a path"))?);
            }
            "--no-tls" => no_tls = true,
            "--credentials" => {
                let dir = args.next().ok_or("--credentials needs a directory")?;
                credentials = Some(PathBuf::from(dir));
            }
            "-q" | "--quiet" => quiet = true,
            "-V" | "--version" => return Ok(Command::Version),
            "-h" | "--help" => return Ok(Command::Help),
            _ => match arg.strip_prefix("--config=") {
                Some(path) => config = Some(path.to_owned()),
                None => return Err(format!("unexpected argument `{arg}` (see --help)")),
            },
        }
    }
    if (no_tls || quiet || credentials.is_some()) && !check {
        let flag = match (no_tls, quiet) {
            (true, _) => "--no-tls",
            (_, true) => "--quiet",
            _ => "--credentials",
        };
        return Err(format!("{flag} belongs to `check` (see --help)"));
    }
    let config = PathBuf::from(config.unwrap_or_else(|| DEFAULT_PATH.to_owned()));
    Ok(if acme {
        Command::Acme { config }
    } else if check {
        Command::Check {
            config,
            no_tls,
            quiet,
            credentials,
        }
    } else {
        Command::Run { config }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_commands_and_flags() {
        assert_eq!(
            p(&[]),
            Ok(Command::Run {
                config: DEFAULT_PATH.into()
            })
        );
        assert_eq!(
            p(&["--config", "a.toml"]),
            Ok(Command::Run {
                config: "a.toml".into()
            })
        );
        assert_eq!(
            p(&["check", "--config=b.toml"]),
            Ok(Command::Check {
                config: "b.toml".into(),
                no_tls: false,
                quiet: false,
                credentials: None
            })
        );
        assert_eq!(
            p(&["check", "--no-tls", "-q", "-c", "c.toml"]),
            Ok(Command::Check {
                config: "c.toml".into(),
                no_tls: true,
                quiet: true,
                credentials: None
            })
        );
        assert_eq!(p(&["--version"]), Ok(Command::Version));
        assert_eq!(p(&["reload"]), Ok(Command::Reload));
        assert_eq!(
            p(&["acme", "-c", "/x.toml"]),
            Ok(Command::Acme {
                config: "/x.toml".into()
            })
        );
        assert!(p(&["acme", "--no-tls"]).is_err());
        assert!(p(&["reload", "now"]).is_err());
        assert_eq!(p(&["-h"]), Ok(Command::Help));
        assert!(p(&["--config"]).unwrap_err().contains("needs a path"));
        assert!(p(&["serve"]).unwrap_err().contains("`serve`"));
        assert!(p(&["check", "check"]).is_err());
        assert!(p(&["--no-tls"]).is_err());
        // As nginx: `-t` checks, and `-c FILE` goes anywhere on the line.
        let checked = Ok(Command::Check {
            config: "d.toml".into(),
            no_tls: false,
            quiet: true,
            credentials: None,
        });
        assert_eq!(p(&["-t", "-c", "d.toml", "-q"]), checked);
        assert_eq!(p(&["-c", "d.toml", "check", "--quiet"]), checked);
        assert_eq!(
            p(&["-c", "/x.toml", "acme"]),
            Ok(Command::Acme {
                config: "/x.toml".into()
            })
        );
        assert!(p(&["-t", "check"]).is_err());
    }

    #[test]
    fn passes_probe_arguments_on() {
        assert_eq!(
            p(&["probe", "x.test", "--json"]),
            Ok(Command::Probe(vec!["x.test".into(), "--json".into()]))
        );
    }
}
