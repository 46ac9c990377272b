//! The DIGEST-MD5 directive syntax (RFC 2831 §7): `name=value` pairs separated by commas, values either
//! tokens or quoted strings with backslash escapes. Used for both challenges and responses; it accepts
//! any bytes and answers with an error, never a panic.

use super::SaslError;

/// The largest challenge the JDK accepts (RFC 2831 says 2048 bytes).
pub const MAX_CHALLENGE_LEN: usize = 2048;
/// The largest response the JDK accepts (RFC 2831 says 4096 bytes).
pub const MAX_RESPONSE_LEN: usize = 4096;

/// One `name=value` directive; the name is lower-cased, the value unquoted and unescaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// The directive name, lower case.
    pub name: String,
    /// The value with quotes and escapes removed.
    pub value: String,
}

/// Parses a directive list. Empty list elements (`a=1,,b=2`) are allowed, as RFC 2831's `#rule` says.
pub fn parse(input: &[u8]) -> Result<Vec<Directive>, SaslError> {
    let text =
        std::str::from_utf8(input).map_err(|_| SaslError::new("directives are not valid UTF-8"))?;
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && (bytes[i] == b',' || bytes[i].is_ascii_whitespace()) {
            i += 1;
        }
        if i >= bytes.len() {
            return Ok(out);
        }
        let name_start = i;
        while i < bytes.len() && is_token_byte(bytes[i]) {
            i += 1;
        }
        if i == name_start {
            return Err(SaslError::new(format!(
                "expected a directive name at byte {i} of the directives"
            )));
        }
        let name = text[name_start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] != b'=' {
            return Err(SaslError::new(format!(
                "directive {name:?} has no '=' and value"
            )));
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = if i < bytes.len() && bytes[i] == b'"' {
            i += 1;
            let mut value = String::new();
            let mut closed = false;
            let mut chars = text[i..].char_indices();
            while let Some((offset, c)) = chars.next() {
                match c {
                    '"' => {
                        i += offset + 1;
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some((_, escaped)) => value.push(escaped),
                        None => break,
                    },
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(SaslError::new(format!(
                    "the quoted value of directive {name:?} is not terminated"
                )));
            }
            value
        } else {
            let start = i;
            while i < bytes.len() && bytes[i] != b',' {
                i += 1;
            }
            text[start..i].trim().to_string()
        };
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < bytes.len() && bytes[i] != b',' {
            return Err(SaslError::new(format!(
                "unexpected text after the value of directive {name:?}"
            )));
        }
        out.push(Directive { name, value });
    }
}

/// RFC 2616 token characters (the directive names allowed here).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Quotes a value for a directive list, escaping `"` and `\`.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Looks up the single value of a directive, failing if it appears more than once.
pub fn single<'a>(directives: &'a [Directive], name: &str) -> Result<Option<&'a str>, SaslError> {
    let mut found = directives.iter().filter(|d| d.name == name);
    let first = found.next();
    if found.next().is_some() {
        return Err(SaslError::new(format!(
            "directive {name:?} appears more than once"
        )));
    }
    Ok(first.map(|d| d.value.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_quoted_and_token_values() {
        let parsed = parse(
            br#"realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",algorithm=md5-sess ,charset=utf-8"#,
        )
        .unwrap();
        let pairs: Vec<(&str, &str)> = parsed
            .iter()
            .map(|d| (d.name.as_str(), d.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("realm", "elwood.innosoft.com"),
                ("nonce", "OA6MG9tEQGm2hh"),
                ("qop", "auth"),
                ("algorithm", "md5-sess"),
                ("charset", "utf-8"),
            ]
        );
    }

    #[test]
    fn unescapes_and_quotes_round_trip() {
        let parsed = parse(format!("realm={}", quote(r#"a"b\c"#)).as_bytes()).unwrap();
        assert_eq!(parsed[0].value, r#"a"b\c"#);
    }

    #[test]
    fn rejects_malformed_directives() {
        for bad in [
            &b"realm"[..],
            b"=x",
            b"realm=\"open",
            b"realm=\"a\"b",
            b"\xff=1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let twice = parse(b"nonce=a,nonce=b").unwrap();
        assert!(single(&twice, "nonce").is_err());
        assert_eq!(single(&twice, "qop").unwrap(), None);
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(&input);
        }

        #[test]
        fn quoted_values_survive(value in "[ -~]{0,40}") {
            let parsed = parse(format!("x={}", quote(&value)).as_bytes()).unwrap();
            prop_assert_eq!(&parsed[0].value, &value);
        }
    }
}
