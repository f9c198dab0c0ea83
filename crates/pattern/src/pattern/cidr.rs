//! `cidr` ranges and IP-address strings.

use std::net::IpAddr;

/// An inclusive range of addresses in one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct IpRange {
    pub(crate) v6: bool,
    pub(crate) low: u128,
    pub(crate) high: u128,
}

impl IpRange {
    /// Parses `address/bits` with EventBridge's error texts.
    pub(crate) fn parse_cidr(text: &str) -> Result<IpRange, String> {
        let mut pieces = text.split('/');
        let (Some(address), Some(bits), None) = (pieces.next(), pieces.next(), pieces.next())
        else {
            return Err("Malformed CIDR, one '/' required".into());
        };
        let bits: u32 = bits
            .parse()
            .map_err(|_| "Malformed CIDR, mask bits must be an integer".to_string())?;
        let ip: IpAddr = address
            .parse()
            .map_err(|_| format!("Nonstandard IP address: {address}"))?;
        let (v6, value, width) = split(ip);
        if bits > width {
            return Err(format!(
                "Malformed CIDR, mask bits must be between 0 and {width}"
            ));
        }
        let host_bits = width - bits;
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
        let ip: IpAddr = text.parse().ok()?;
        let (v6, value, _) = split(ip);
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

/// Parses an event string as an address: (is v6, value).
pub(crate) fn parse_address(value: &[u8]) -> Option<(bool, u128)> {
    if value.len() < 2 || value.len() > 45 {
        return None;
    }
    let text = std::str::from_utf8(value).ok()?;
    let ip: IpAddr = text.parse().ok()?;
    let (v6, a, _) = split(ip);
    Some((v6, a))
}

fn split(ip: IpAddr) -> (bool, u128, u32) {
    match ip {
        IpAddr::V4(a) => (false, u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (true, u128::from(a), 128),
    }
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
        assert!(IpRange::parse_cidr("10.0.0.0/33").is_err());
        assert_eq!(IpRange::single("::1"), IpRange::single("0:0:0:0:0:0:0:1"));
        assert!(IpRange::single("not-an-ip").is_none());
    }
}
