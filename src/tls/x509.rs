//! Just enough DER to read a certificate's validity, serial and authority key identifier:
//! rustls does not expose them, and a full X.509 parser would be the largest dependency of
//! the daemon for four fields (expiry reports, the renewal schedule and ARI's certificate ID).

use crate::civil::days_from_civil;

/// One DER element: its tag and contents; `rest` is what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, der) = der.split_first()?;
    let (&first, der) = der.split_first()?;
    let (len, der) = if first < 0x80 {
        (usize::from(first), der)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || der.len() < n {
            return None;
        }
        let len = der[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &der[n..])
    };
    (der.len() >= len).then(|| (tag, &der[..len], &der[len..]))
}

/// `notAfter` of a DER certificate, in seconds since the epoch.
pub fn not_after(cert: &[u8]) -> Option<i64> {
    facts(cert).map(|f| f.not_after)
}

/// What the renewal schedule needs of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The serial number's DER contents (as RFC 9773's certificate ID takes it).
    pub serial: Vec<u8>,
    pub not_before: i64,
    pub not_after: i64,
    /// The authority key identifier's `keyIdentifier` octets, if the extension is there.
    pub authority_key_id: Option<Vec<u8>>,
}

/// OID 2.5.29.35, authorityKeyIdentifier, as DER contents.
const AKI_OID: &[u8] = &[0x55, 0x1d, 0x23];

pub fn facts(cert: &[u8]) -> Option<Facts> {
    let (_, certificate, _) = element(cert)?;
    let (_, tbs, _) = element(certificate)?;
    let mut rest = tbs;
    let (tag, _, after) = element(rest)?;
    if tag == 0xa0 {
        rest = after; // explicit version
    }
    let (_, serial, after_serial) = element(rest)?;
    rest = after_serial;
    for _ in 0..2 {
        rest = element(rest)?.2; // signature, issuer
    }
    let (_, validity, after_validity) = element(rest)?;
    let (tag, time, after_not_before) = element(validity)?;
    let not_before = parse_time(tag, std::str::from_utf8(time).ok()?)?;
    let (tag, time, _) = element(after_not_before)?;
    let not_after = parse_time(tag, std::str::from_utf8(time).ok()?)?;
    Some(Facts {
        serial: serial.to_vec(),
        not_before,
        not_after,
        authority_key_id: authority_key_id(after_validity),
    })
}

/// From what follows `validity` (subject, key, optional unique IDs, `[3]` extensions).
fn authority_key_id(rest: &[u8]) -> Option<Vec<u8>> {
    let value = extension(rest, AKI_OID)?;
    let (_, aki, _) = element(value)?;
    let (tag, key_id, _) = element(aki)?;
    (tag == 0x80).then(|| key_id.to_vec())
}

/// The value (OCTET STRING contents) of extension `oid`, from what follows `validity`.
fn extension<'a>(mut rest: &'a [u8], oid: &[u8]) -> Option<&'a [u8]> {
    let extensions = loop {
        let (tag, contents, after) = element(rest)?;
        if tag == 0xa3 {
            break element(contents)?.1;
        }
        rest = after;
    };
    let mut list = extensions;
    while !list.is_empty() {
        let (_, extension, after) = element(list)?;
        list = after;
        let (_, id, fields) = element(extension)?;
        if id != oid {
            continue;
        }
        let (tag, value, after) = element(fields)?;
        // A BOOLEAN first is `critical`; the OCTET STRING after it is the value.
        return Some(if tag == 0x01 {
            element(after)?.1
        } else {
            value
        });
    }
    None
}

/// OID 2.5.29.17, subjectAltName; 2.5.4.3, commonName.
const SAN_OID: &[u8] = &[0x55, 0x1d, 0x11];
const CN_OID: &[u8] = &[0x55, 0x04, 0x03];

/// Who a certificate is for and who issued it, for `check`'s report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The DNS names of subjectAltName, which is what clients match.
    pub dns: Vec<String>,
    /// The issuer's common name (or `?`), and the issuer and subject as DER, to compare.
    pub issuer: String,
    pub issuer_der: Vec<u8>,
    pub subject_der: Vec<u8>,
}

pub fn names(cert: &[u8]) -> Option<Names> {
    let (_, certificate, _) = element(cert)?;
    let (_, tbs, _) = element(certificate)?;
    let (tag, _, after) = element(tbs)?;
    let rest = if tag == 0xa0 { after } else { tbs };
    let rest = element(rest)?.2; // serial
    let rest = element(rest)?.2; // signature algorithm
    let (_, issuer, rest) = element(rest)?;
    let rest = element(rest)?.2; // validity
    let (_, subject, rest) = element(rest)?;
    let mut dns = Vec::new();
    if let Some(value) = extension(rest, SAN_OID) {
        let mut list = element(value)?.1;
        while !list.is_empty() {
            let (tag, name, after) = element(list)?;
            list = after;
            if tag == 0x82 {
                dns.push(String::from_utf8_lossy(name).into_owned());
            }
        }
    }
    Some(Names {
        dns,
        issuer: common_name(issuer).unwrap_or_else(|| "?".into()),
        issuer_der: issuer.to_vec(),
        subject_der: subject.to_vec(),
    })
}

/// The CN attribute of a distinguished name (a SEQUENCE of SETs of type-value pairs).
fn common_name(mut dn: &[u8]) -> Option<String> {
    while !dn.is_empty() {
        let (_, set, after) = element(dn)?;
        dn = after;
        let (_, pair, _) = element(set)?;
        let (_, oid, value) = element(pair)?;
        if oid == CN_OID {
            return Some(String::from_utf8_lossy(element(value)?.1).into_owned());
        }
    }
    None
}

/// UTCTime (`YYMMDDHHMMSSZ`, tag 0x17) or GeneralizedTime (`YYYYMMDDHHMMSSZ`, tag 0x18).
fn parse_time(tag: u8, s: &str) -> Option<i64> {
    let digits = s.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 => {
            let yy: i64 = digits.get(..2)?.parse().ok()?;
            (
                if yy < 50 { 2000 + yy } else { 1900 + yy },
                digits.get(2..)?,
            )
        }
        0x18 => (digits.get(..4)?.parse().ok()?, digits.get(4..)?),
        _ => return None,
    };
    if rest.len() != 10 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |i: usize| rest[i..i + 2].parse::<u32>().ok();
    let days = days_from_civil(year, field(0)?, field(2)?);
    let secs = i64::from(field(4)?) * 3600 + i64::from(field(6)?) * 60 + i64::from(field(8)?);
    Some(days * 86_400 + secs)
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn parses_both_time_forms() {
        assert_eq!(parse_time(0x17, "700101000000Z"), Some(0));
        assert_eq!(parse_time(0x17, "491231235959Z"), Some(2_524_607_999));
        assert_eq!(parse_time(0x18, "20500101000000Z"), Some(2_524_608_000));
        assert_eq!(parse_time(0x18, "2050010100000Z"), None);
        assert_eq!(parse_time(0x17, "700101000000"), None);
    }
}
