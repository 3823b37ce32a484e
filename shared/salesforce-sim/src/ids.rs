//! Salesforce ids: 15 case-sensitive characters plus a 3-character case-safe checksum.

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SUFFIX: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// Adds the 3-character checksum to a 15-character id (returned unchanged if not 15 characters).
pub fn to_18(id15: &str) -> String {
    if id15.len() != 15 || !id15.is_ascii() {
        return id15.to_owned();
    }
    let bytes = id15.as_bytes();
    let mut out = id15.to_owned();
    for chunk in 0..3 {
        let mut flags = 0usize;
        for j in 0..5 {
            if bytes[chunk * 5 + j].is_ascii_uppercase() {
                flags |= 1 << j;
            }
        }
        out.push(char::from(SUFFIX[flags]));
    }
    out
}

/// An 18-character id: 3-character key prefix, pod `5g`, and `n` in base 62.
pub fn make(prefix: &str, n: u64) -> String {
    let mut digits = [b'0'; 10];
    let mut v = n;
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(v % 62) as usize];
        v /= 62;
    }
    let mut id15 = String::with_capacity(18);
    id15.push_str(&prefix[..prefix.len().min(3)]);
    id15.push_str("5g");
    id15.push_str(std::str::from_utf8(&digits).unwrap_or("0000000000"));
    to_18(&id15)
}

/// Whether `id` looks like a Salesforce id (15 or 18 alphanumerics).
pub fn is_valid(id: &str) -> bool {
    (id.len() == 15 || id.len() == 18) && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The 18-character form of a 15- or 18-character id (18 returned as is).
pub fn normalize(id: &str) -> String {
    if id.len() == 15 { to_18(id) } else { id.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_real_ids() {
        // From the fixtures: 15 + 18 character pairs.
        assert_eq!(to_18("001B000001PUvQU"), "001B000001PUvQUIA1");
        assert_eq!(to_18("a00D0000008pQRA"), "a00D0000008pQRAIA2");
        assert_eq!(to_18("0031I0000081tbP"), "0031I0000081tbPQAQ");
        let id = make("a01", 12345);
        assert_eq!(id.len(), 18);
        assert!(id.starts_with("a015g"));
    }
}
