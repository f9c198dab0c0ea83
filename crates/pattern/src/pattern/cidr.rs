//! `cidr` ranges and IP-address strings, read as event-ruler reads them.

use std::net::IpAddr;

/// An inclusive range of addresses in one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct IpRange {
    pub(crate) v6: bool,
    pub(crate) low: u128,
    pub(crate) high: u128,
}

impl IpRange {
    /// Parses `address/bits` with event-ruler's checks, in its order, and
    /// its error texts.
    pub(crate) fn parse_cidr(text: &str) -> Result<IpRange, String> {
        // Java's `split("/")`: trailing empty pieces are dropped, so
        // `10.0.0.0/` has one piece.
        let mut pieces: Vec<&str> = text.split('/').collect();
        while pieces.len() > 1 && pieces.last() == Some(&"") {
            pieces.pop();
        }
        let [address, bits] = pieces[..] else {
            return Err("Malformed CIDR, one '/' required".into());
        };
        // Java's `Integer.parseInt`: an optional sign, then digits.
        let bits: i32 = bits
            .parse()
            .map_err(|_| "Malformed CIDR, mask bits must be an integer".to_string())?;
        if bits < 0 {
            return Err("Malformed CIDR, mask bits must not be negative".into());
        }
        if !ip_shaped(address) {
            return Err(format!("Nonstandard IP address: {address}"));
        }
        let (v6, value) =
            parse_ip(address).ok_or_else(|| format!("Invalid IP address: {address}"))?;
        let width: u32 = if v6 { 128 } else { 32 };
        // A mask of the whole width is refused: event-ruler's bound.
        if bits as u32 >= width {
            return Err(if v6 {
                "IPv6 mask bits must be < 128".into()
            } else {
                "IPv4 mask bits must be < 32".into()
            });
        }
        let host_bits = width - bits as u32;
        let host_mask: u128 = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        Ok(IpRange {
            v6,
            low: value & !host_mask,
            high: value | host_mask,
        })
    }

    /// The one-address range of a string that is an IP address, if it is one.
    pub(crate) fn single(text: &str) -> Option<IpRange> {
        let (v6, value) = parse_ip(text)?;
        Some(IpRange {
            v6,
            low: value,
            high: value,
        })
    }

    /// Whether the event string `value` is an address inside this range.
    pub(crate) fn contains_text(&self, value: &[u8]) -> bool {
        parse_address(value).is_some_and(|(v6, a)| v6 == self.v6 && self.low <= a && a <= self.high)
    }
}

/// Whether `text` has the shape event-ruler reads as an address: four runs
/// of digits joined by dots, or only hex digits and colons with at least one
/// colon. Anything else (`::ffff:10.0.0.1` among them) is plain text.
fn ip_shaped(text: &str) -> bool {
    let bytes = text.as_bytes();
    let v4 = {
        let mut runs = text.split('.');
        let four = runs
            .by_ref()
            .take(4)
            .filter(|run| !run.is_empty() && run.bytes().all(|b| b.is_ascii_digit()));
        four.count() == 4 && runs.next().is_none()
    };
    v4 || (bytes.contains(&b':') && bytes.iter().all(|&b| b == b':' || b.is_ascii_hexdigit()))
}

/// Parses an address of that shape: (is v6, value). An IPv4-mapped IPv6
/// address is its IPv4 address, as Java's `InetAddress` gives it.
fn parse_ip(text: &str) -> Option<(bool, u128)> {
    if !ip_shaped(text) {
        return None;
    }
    match text.parse::<IpAddr>().ok()? {
        IpAddr::V4(a) => Some((false, u128::from(u32::from(a)))),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => Some((false, u128::from(u32::from(v4)))),
            None => Some((true, u128::from(a))),
        },
    }
}

/// Parses an event string as an address: (is v6, value).
pub(crate) fn parse_address(value: &[u8]) -> Option<(bool, u128)> {
    if value.len() < 2 || value.len() > 45 {
        return None;
    }
    parse_ip(std::str::from_utf8(value).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_errors() {
        let r = IpRange::parse_cidr("10.0.0.0/24").unwrap();
        assert!(r.contains_text(b"10.0.0.255"));
        assert!(!r.contains_text(b"10.0.0.256"));
        assert!(!r.contains_text(b"10.0.1.0"));
        let r6 = IpRange::parse_cidr("2001:db8:1234:1a00::/64").unwrap();
        assert!(r6.contains_text(b"2001:0db8:1234:1a00:0000:0000:0000:0000"));
        assert!(!r6.contains_text(b"2001:0db8:123f:1a01:0000:0000:0000:0000"));
        assert!(
            IpRange::parse_cidr("0.0.0.0/0")
                .unwrap()
                .contains_text(b"1.2.3.4")
        );
        assert_eq!(
            IpRange::parse_cidr("bad-filter").unwrap_err(),
            "Malformed CIDR, one '/' required"
        );
        assert_eq!(
            IpRange::parse_cidr("bad-/64filter").unwrap_err(),
            "Malformed CIDR, mask bits must be an integer"
        );
        assert_eq!(
            IpRange::parse_cidr("xx.11.xx/8").unwrap_err(),
            "Nonstandard IP address: xx.11.xx"
        );
        let reason = |cidr: &str| IpRange::parse_cidr(cidr).unwrap_err();
        assert_eq!(reason("10.0.0.0/32"), "IPv4 mask bits must be < 32");
        assert_eq!(reason("10.0.0.0/33"), "IPv4 mask bits must be < 32");
        assert_eq!(reason("::1/128"), "IPv6 mask bits must be < 128");
        assert_eq!(reason("10.0.0.0/"), "Malformed CIDR, one '/' required");
        assert_eq!(reason("10.0.0.0/8/9"), "Malformed CIDR, one '/' required");
        assert_eq!(
            reason("10.0.0.0/-1"),
            "Malformed CIDR, mask bits must not be negative"
        );
        assert_eq!(reason("300.0.0.0/8"), "Invalid IP address: 300.0.0.0");
        assert_eq!(
            reason("::ffff:10.0.0.0/8"),
            "Nonstandard IP address: ::ffff:10.0.0.0"
        );
        // Java's split drops a trailing empty piece; `+8` is an integer.
        assert!(IpRange::parse_cidr("10.0.0.0/8/").is_ok());
        assert!(IpRange::parse_cidr("10.0.0.0/+8").is_ok());
        assert!(IpRange::parse_cidr("10.0.0.0/31").is_ok());
        assert!(IpRange::single("::ffff:10.0.0.1").is_none());
        assert_eq!(IpRange::single("::ffff:a00:1"), IpRange::single("10.0.0.1"));
        assert_eq!(IpRange::single("::1"), IpRange::single("0:0:0:0:0:0:0:1"));
        assert!(IpRange::single("not-an-ip").is_none());
    }
}
