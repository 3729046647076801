//! The command line: `wellknownd [check] [--config PATH]`, `--version`, `--help`.

use std::path::PathBuf;

use crate::config::DEFAULT_PATH;

pub const USAGE: &str = "\
wellknownd: serves the Matrix .well-known delegation documents over TLS

Usage:
  wellknownd [--config PATH]          run the daemon
  wellknownd check [--no-tls] [--quiet] [--config PATH]
                                      validate the config and certificates, print what would be
                                      served; exit 0 if the daemon would start, 1 if not.
                                      --no-tls: do not read certificates (for ExecReload=, which
                                      cannot read systemd credentials); --quiet: print only
                                      warnings and errors
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
    },
    Version,
    Help,
}

/// Parses the arguments after the program name; the error is a line for stderr.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut check = false;
    let mut no_tls = false;
    let mut quiet = false;
    let mut config = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "check" if !check && config.is_none() => check = true,
            "-c" | "--config" => {
                config = Some(args.next().ok_or_else(|| format!("{arg} needs a path"))?);
            }
            "--no-tls" if check => no_tls = true,
            "-q" | "--quiet" if check => quiet = true,
            "-V" | "--version" => return Ok(Command::Version),
            "-h" | "--help" => return Ok(Command::Help),
            _ => match arg.strip_prefix("--config=") {
                Some(path) => config = Some(path.to_owned()),
                None => return Err(format!("unexpected argument `{arg}` (see --help)")),
            },
        }
    }
    let config = PathBuf::from(config.unwrap_or_else(|| DEFAULT_PATH.to_owned()));
    Ok(if check {
        Command::Check {
            config,
            no_tls,
            quiet,
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
                quiet: false
            })
        );
        assert_eq!(
            p(&["check", "--no-tls", "-q", "-c", "c.toml"]),
            Ok(Command::Check {
                config: "c.toml".into(),
                no_tls: true,
                quiet: true
            })
        );
        assert_eq!(p(&["--version"]), Ok(Command::Version));
        assert_eq!(p(&["-h"]), Ok(Command::Help));
        assert!(p(&["--config"]).unwrap_err().contains("needs a path"));
        assert!(p(&["serve"]).unwrap_err().contains("`serve`"));
        assert!(p(&["check", "check"]).is_err());
        assert!(p(&["--no-tls"]).is_err());
    }
}
