//! wellknownd.toml(5), generated from config.example.toml so the two cannot drift: the
//! example's comment above each key becomes that key's entry, each table a subsection.
//! `cargo run --example man > man/wellknownd.toml.5` writes it; tests/man.rs checks the
//! committed page is what this makes of today's example.
//!
//! The example's shape, which this relies on: a header comment, then blocks of comment lines
//! each followed by the key or `[table]` they describe. A commented-out key (`#key = value`)
//! is one that is unset by default; a key repeated right after itself is an example value.

/// The man page for `example`, the text of config.example.toml.
pub fn page(example: &str) -> String {
    let mut out = String::from(HEAD);
    let mut page = Page::default();
    let mut lines = example.lines().peekable();
    let mut header = Vec::new();
    while let Some(line) = lines.next_if(|l| l.starts_with('#')) {
        header.push(comment(line));
    }
    out.push_str(&paragraph(&header));
    out.push_str(".SH KEYS\n.SS Top level\n");
    for line in lines {
        page.line(line.trim_end(), &mut out);
    }
    out.push_str(TAIL);
    out
}

const HEAD: &str = r#".\" Generated from config.example.toml by `cargo run --example man`; do not edit.
.TH WELLKNOWND.TOML 5 "" "wellknownd" "File Formats"
.SH NAME
wellknownd.toml \- configuration of wellknownd, the Matrix .well\-known delegation server
.SH SYNOPSIS
/etc/wellknownd/config.toml
.SH DESCRIPTION
"#;

const TAIL: &str = r#".SH FILES
.TP
/etc/wellknownd/config.toml
the configuration the packaged units read
.TP
/usr/share/doc/wellknownd/config.example.toml
the annotated example this page is made from
.SH SEE ALSO
.BR wellknownd (8),
.BR systemd.exec (5)
"#;

#[derive(Default)]
struct Page {
    /// Prose comment lines waiting for the key or table they describe.
    pending: Vec<String>,
    /// Tables already described: a repeated `[[domain]]` adds only its new keys.
    tables: Vec<String>,
    table: String,
    /// Keys described, as `table.key`.
    keys: Vec<String>,
    /// The key just described, so a repeat right after it reads as an example value.
    last: Option<String>,
}

impl Page {
    fn line(&mut self, line: &str, out: &mut String) {
        if line.is_empty() {
            self.orphan(out);
        } else if let Some(text) = line.strip_prefix('#') {
            match Entry::parse(text.strip_prefix(' ').unwrap_or(text)) {
                Some(entry) => self.entry(entry, false, out),
                None => self.pending.push(comment(line)),
            }
        } else if let Some(entry) = Entry::parse(line) {
            self.entry(entry, true, out);
        }
    }

    /// Prose with no key after it (a blank line followed): a paragraph of the current table.
    fn orphan(&mut self, out: &mut String) {
        if !self.pending.is_empty() {
            out.push_str(&paragraph(&self.pending));
            self.pending.clear();
        }
        self.last = None;
    }

    fn entry(&mut self, entry: Entry, set: bool, out: &mut String) {
        let prose = std::mem::take(&mut self.pending);
        match entry {
            Entry::Table(name) => {
                self.table = name.trim_matches(['[', ']']).to_owned();
                self.last = None;
                if self.tables.contains(&name) {
                    return;
                }
                out.push_str(&format!(".SS {}\n", roff(&name)));
                out.push_str(&paragraph(&prose));
                self.tables.push(name);
            }
            Entry::Key { key, value, note } => {
                let path = format!("{}.{key}", self.table);
                if prose.is_empty() && self.last.as_deref() == Some(path.as_str()) {
                    out.push_str(&format!(
                        ".br\nFor example: \\fB{}\\fR\n",
                        roff(&format!("{key} = {value}"))
                    ));
                    return;
                }
                self.last = Some(path.clone());
                if self.keys.contains(&path) {
                    return;
                }
                let unset = if set {
                    ""
                } else {
                    " (commented out in the example)"
                };
                out.push_str(&format!(
                    ".TP\n\\fB{}\\fR = {}{unset}\n",
                    roff(&key),
                    roff(&value)
                ));
                let mut text = prose;
                text.extend(note);
                out.push_str(&join(&text));
                self.keys.push(path);
            }
        }
    }
}

enum Entry {
    Table(String),
    Key {
        key: String,
        value: String,
        note: Option<String>,
    },
}

impl Entry {
    /// A `[table]`, `[[table]]` or `key = value  # note` line; None for prose.
    fn parse(line: &str) -> Option<Entry> {
        let line = line.trim();
        if line.starts_with('[')
            && line.ends_with(']')
            && !line.contains(' ')
            && !line.contains('"')
        {
            return Some(Entry::Table(line.to_owned()));
        }
        let (key, rest) = line.split_once(" = ")?;
        let key_ok = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.\"-".contains(c));
        if !key_ok {
            return None;
        }
        // The value is what parses as TOML; the rest of the line, after `#`, is a note.
        let (value, note) = match rest.split_once("  #") {
            Some((value, note)) => (value.trim(), Some(note.trim().to_owned())),
            None => (rest.trim(), None),
        };
        toml::from_str::<toml::Table>(&format!("k = {value}")).ok()?;
        Some(Entry::Key {
            key: key.to_owned(),
            value: value.to_owned(),
            note,
        })
    }
}

fn comment(line: &str) -> String {
    let text = line.trim_start_matches('#');
    text.strip_prefix(' ').unwrap_or(text).to_owned()
}

/// Comment lines as roff: prose is filled; lines indented by two or more spaces (code) are
/// kept as they are, indentation included.
fn join(lines: &[String]) -> String {
    let mut out = String::new();
    let mut literal = false;
    for line in lines {
        let code = line.starts_with("  ");
        if code != literal {
            out.push_str(if code { ".nf\n" } else { ".fi\n" });
            literal = code;
        }
        if line.is_empty() {
            out.push_str(".sp\n");
        } else {
            out.push_str(&roff(line));
            out.push('\n');
        }
    }
    if literal {
        out.push_str(".fi\n");
    }
    out
}

fn paragraph(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    format!(".PP\n{}", join(lines))
}

/// Text safe in roff: backslashes and dashes escaped, no line starting with a control
/// character.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}
