//! Exact decimal numbers in an order-preserving byte encoding.
//!
//! JSON numbers stay lexemes until they are compared. Each is encoded so that
//! comparing the encodings byte by byte compares the exact decimal values:
//! `300`, `300.0` and `3e2` encode identically, `9007199254740993` and
//! `9007199254740992` do not (a double would merge them), and a numeric range
//! becomes a byte range. Nothing is rounded.
//!
//! Layout: a class byte (`0` negative, `1` zero, `2` positive); for non-zero
//! values the decimal exponent `e` of `0.d1d2…dn × 10^e` as 8 big-endian bytes
//! biased by 2^63, then the digits as ASCII. Negative values complement the
//! exponent and digit bytes and end with `0xFF`, which reverses the order.
//!
//! Building that key costs more than finding where a number falls among a
//! few pattern values, so event numbers also get [`approximate`]: a double
//! with a proven error bound, which settles every comparison that is not
//! too close to call. Only close calls build the exact key.

use crate::swar::digit_run;

/// Exponents are clamped to this magnitude so that absurd lexemes such as
/// `1e99999999999999999999` cannot overflow.
pub(crate) const EXPONENT_CLAMP: i64 = 1 << 40;

const NEGATIVE: u8 = 0;
const ZERO: u8 = 1;
const POSITIVE: u8 = 2;

/// Encodes a JSON number lexeme into `out` (cleared first). Returns `false`,
/// leaving `out` unspecified, when the text is not a JSON number.
pub(crate) fn encode(lexeme: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    match split(lexeme) {
        Some(parts) => {
            append(&parts, out);
            true
        }
        None => false,
    }
}

/// A JSON number taken apart: `-int.frac e exp`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Parts<'a> {
    pub(crate) negative: bool,
    pub(crate) int_digits: &'a [u8],
    pub(crate) frac_digits: &'a [u8],
    pub(crate) exp: i64,
    /// `int_digits ++ frac_digits` as an integer, when at most 19 digits.
    pub(crate) significand: Option<u64>,
}

/// Takes a lexeme apart, checking the JSON grammar.
pub(crate) fn split(lexeme: &[u8]) -> Option<Parts<'_>> {
    match split_prefix::<false>(lexeme) {
        Ok((parts, len)) if len == lexeme.len() => Some(parts),
        _ => None,
    }
}

/// Takes apart the JSON number at the start of `bytes`: its parts and its
/// length, or the offset where the grammar fails. What follows the number is
/// the caller's to check. With `SIGNIFICAND`, the parts include the digits'
/// value (for [`approximate`]).
#[inline(always)]
pub(crate) fn split_prefix<const SIGNIFICAND: bool>(
    bytes: &[u8],
) -> Result<(Parts<'_>, usize), usize> {
    let mut value = 0u64;
    let mut count = 0u32;
    let mut i = 0;
    let negative = bytes.first() == Some(&b'-');
    if negative {
        i += 1;
    }
    let int_start = i;
    match bytes.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            i += digit_run::<SIGNIFICAND>(&bytes[i..], &mut value, &mut count);
        }
        _ => return Err(i),
    }
    let int_digits = &bytes[int_start..i];
    let mut frac_digits: &[u8] = &[];
    if bytes.get(i) == Some(&b'.') {
        let end = i + 1 + digit_run::<SIGNIFICAND>(&bytes[i + 1..], &mut value, &mut count);
        if end == i + 1 {
            return Err(end);
        }
        frac_digits = &bytes[i + 1..end];
        i = end;
    }
    let mut exp: i64 = 0;
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        let exp_negative = bytes.get(i) == Some(&b'-');
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = i + digit_run::<false>(&bytes[i..], &mut 0, &mut 0);
        if end == i {
            return Err(end);
        }
        for &d in &bytes[i..end] {
            exp = (exp * 10 + i64::from(d - b'0')).min(EXPONENT_CLAMP);
        }
        if exp_negative {
            exp = -exp;
        }
        i = end;
    }
    Ok((
        Parts {
            negative,
            int_digits,
            frac_digits,
            exp,
            significand: (SIGNIFICAND && count <= 19).then_some(value),
        },
        i,
    ))
}

/// Appends the encoding of a number taken apart by [`split_prefix`] to `out`.
pub(crate) fn append(parts: &Parts<'_>, out: &mut Vec<u8>) {
    let Parts {
        negative,
        int_digits,
        frac_digits,
        exp,
        ..
    } = *parts;
    // value = 0.(int_digits frac_digits) × 10^(len(int) + exp)
    let zeros = |d: &[u8]| d.iter().take_while(|&&b| b == b'0').count();
    let zeros_back = |d: &[u8]| d.iter().rev().take_while(|&&b| b == b'0').count();
    let int_lead = zeros(int_digits);
    let leading = if int_lead == int_digits.len() {
        int_lead + zeros(frac_digits)
    } else {
        int_lead
    };
    let total = int_digits.len() + frac_digits.len();
    if leading == total {
        out.push(ZERO);
        return;
    }
    let frac_trail = zeros_back(frac_digits);
    let trailing = if frac_trail == frac_digits.len() {
        frac_trail + zeros_back(int_digits)
    } else {
        frac_trail
    };
    let exponent =
        (int_digits.len() as i64 + exp - leading as i64).clamp(-EXPONENT_CLAMP, EXPONENT_CLAMP);
    let biased = (exponent as u64) ^ (1 << 63);
    // The significant digits are digits[leading..total - trailing] of the
    // concatenation int_digits ++ frac_digits.
    let end = total - trailing;
    let int_part = &int_digits[leading.min(int_digits.len())..end.min(int_digits.len())];
    let frac_part = &frac_digits
        [leading.saturating_sub(int_digits.len())..end.saturating_sub(int_digits.len())];
    out.push(if negative { NEGATIVE } else { POSITIVE });
    let body = out.len();
    out.extend_from_slice(&biased.to_be_bytes());
    out.extend_from_slice(int_part);
    out.extend_from_slice(frac_part);
    if negative {
        // Complemented exponent and digits, then a terminator above every
        // digit: the reverse order.
        for byte in &mut out[body..] {
            *byte = !*byte;
        }
        out.push(0xFF);
    }
}

/// Powers of ten that doubles hold exactly.
static EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `10^-p` for `p` in `0..=22`, each the double nearest it.
static NEGATIVE_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13, 1e-14,
    1e-15, 1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22,
];

/// The relative error bound of [`approximate`]: its result `a` and the
/// exact value `v` satisfy `|a - v| <= APPROXIMATION_ERROR * |v|`.
pub(crate) const APPROXIMATION_ERROR: f64 = 1.0 / (1u64 << 51) as f64;

/// A double close to the number's exact value, cheap to compute: the
/// significant digits as an integer `m < 10^19` and a power of ten `10^p`
/// with `|p| <= 22`, multiplied (a product, not a quotient: a division
/// takes several times longer). Three steps round, each by at most 2^-53
/// relative: `m` as a double, `10^p` when `p` is negative, and the product;
/// so the result is within [`APPROXIMATION_ERROR`] (2^-51) of the exact
/// value (relative), and it is a normal double or zero. NaN when the number has
/// more than 19 digits or a larger exponent: such numbers are compared by
/// their exact key only.
#[inline]
pub(crate) fn approximate(parts: &Parts<'_>) -> f64 {
    let Some(significand) = parts.significand else {
        return f64::NAN;
    };
    let power = parts.exp - parts.frac_digits.len() as i64;
    if power.unsigned_abs() >= EXACT_POWERS_OF_TEN.len() as u64 {
        return f64::NAN;
    }
    let scale = if power < 0 {
        NEGATIVE_POWERS_OF_TEN[power.unsigned_abs() as usize]
    } else {
        EXACT_POWERS_OF_TEN[power as usize]
    };
    let magnitude = significand as f64 * scale;
    if parts.negative {
        -magnitude
    } else {
        magnitude
    }
}

/// An exact decimal value from a pattern; ordering and equality are numeric.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Decimal(Box<[u8]>);

impl Decimal {
    /// Parses a JSON number lexeme.
    pub(crate) fn parse(lexeme: &[u8]) -> Option<Decimal> {
        let mut out = Vec::with_capacity(lexeme.len() + 10);
        encode(lexeme, &mut out).then(|| Decimal(out.into_boxed_slice()))
    }

    /// The order-preserving encoding.
    pub(crate) fn key(&self) -> &[u8] {
        &self.0
    }

    /// The double nearest the value (correctly rounded; infinite or zero
    /// when out of the double range).
    pub(crate) fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    /// Whether the value is zero.
    pub(crate) fn is_zero(&self) -> bool {
        self.0[0] == ZERO
    }

    /// The decimal whose order-preserving encoding is `key`.
    pub(crate) fn from_key(key: &[u8]) -> Decimal {
        Decimal(key.into())
    }
}

impl std::fmt::Display for Decimal {
    /// Shows the value in a canonical decimal form (`-1.5`, `300`, `1e-9`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = &self.0;
        if key[0] == ZERO {
            return f.write_str("0");
        }
        let negative = key[0] == NEGATIVE;
        let mut exp_bytes = [0u8; 8];
        exp_bytes.copy_from_slice(&key[1..9]);
        let mut biased = u64::from_be_bytes(exp_bytes);
        let digits: Vec<u8> = if negative {
            biased = !biased;
            key[9..key.len() - 1].iter().map(|&b| !b).collect()
        } else {
            key[9..].to_vec()
        };
        let exponent = (biased ^ (1 << 63)) as i64;
        let digits = String::from_utf8_lossy(&digits).into_owned();
        let sign = if negative { "-" } else { "" };
        if (1..=21).contains(&exponent) {
            // 0.d1..dn × 10^e with e > 0: the integer part is the first e digits.
            let e = exponent as usize;
            if digits.len() <= e {
                write!(f, "{sign}{digits}{}", "0".repeat(e - digits.len()))
            } else {
                write!(f, "{sign}{}.{}", &digits[..e], &digits[e..])
            }
        } else if (-6..=0).contains(&exponent) {
            write!(f, "{sign}0.{}{digits}", "0".repeat((-exponent) as usize))
        } else {
            let (head, tail) = digits.split_at(1);
            let point = if tail.is_empty() { "" } else { "." };
            write!(f, "{sign}{head}{point}{tail}e{}", exponent - 1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn equal_values_have_equal_encodings() {
        assert_eq!(d("300"), d("300.0"));
        assert_eq!(d("300"), d("3e2"));
        assert_eq!(d("300"), d("3.00E+2"));
        assert_eq!(d("0"), d("-0"));
        assert_eq!(d("0"), d("0.000e5"));
        assert_eq!(d("0.5"), d("5e-1"));
        assert_ne!(d("9007199254740993"), d("9007199254740992"));
        assert_eq!(d("100"), d("1e2"));
        assert_eq!(d("100.000"), d("0.001e5"));
        assert_eq!(d("0.00100"), d("1e-3"));
        assert_eq!(d("-0.00100"), d("-1.0e-3"));
        assert_eq!(d("1200.0034"), d("12000034e-4"));
        assert_ne!(d("10.01"), d("1.001"));
        assert_eq!(d("10.01").to_string(), "10.01");
        assert_eq!(d("-0.0500").to_string(), "-0.05");
    }

    #[test]
    fn byte_order_is_numeric_order() {
        let inputs = [
            "-1e400",
            "-100",
            "-12.3",
            "-12",
            "-1.5",
            "-0.123",
            "-0.12",
            "-1e-9",
            "0",
            "1e-9",
            "0.12",
            "0.123",
            "2",
            "10",
            "12",
            "12.3",
            "1.7976931348623157e308",
        ];
        for pair in inputs.windows(2) {
            assert!(d(pair[0]) < d(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn display_is_canonical() {
        let shown: Vec<String> = ["300.0", "-1.5", "0.001", "1e-9", "-0", "1.25e30", "12345"]
            .iter()
            .map(|s| d(s).to_string())
            .collect();
        assert_eq!(
            shown,
            ["300", "-1.5", "0.001", "1e-9", "0", "1.25e30", "12345"]
        );
    }

    /// `approximate` against the correctly rounded double.
    fn check_approximation(lexeme: &str) {
        let (parts, len) = split_prefix::<true>(lexeme.as_bytes()).unwrap();
        assert_eq!(len, lexeme.len());
        // A lone integer zero adds no digit.
        let int_digits = if parts.int_digits == b"0" {
            &b""[..]
        } else {
            parts.int_digits
        };
        let digits = int_digits.len() + parts.frac_digits.len();
        let power = parts.exp - parts.frac_digits.len() as i64;
        let approx = approximate(&parts);
        if digits > 19 || power.abs() > 22 {
            assert!(approx.is_nan(), "{lexeme}: {approx}");
            return;
        }
        let all: String = std::str::from_utf8(int_digits).unwrap().to_owned()
            + std::str::from_utf8(parts.frac_digits).unwrap();
        assert_eq!(
            parts.significand,
            Some(all.parse::<u64>().unwrap_or(0)),
            "{lexeme}"
        );
        let exact: f64 = lexeme.parse().unwrap();
        assert!(approx == 0.0 || approx.is_normal(), "{lexeme}: {approx}");
        assert_eq!(
            approx.is_sign_negative(),
            exact.is_sign_negative(),
            "{lexeme}"
        );
        // Within 2^-51 of the exact value, the correctly rounded double within
        // 2^-53 of it: 2^-51 + 2^-52 covers both.
        assert!(
            (approx - exact).abs() <= exact.abs() * (APPROXIMATION_ERROR + f64::EPSILON),
            "{lexeme}: {approx} vs {exact}"
        );
    }

    #[test]
    fn approximations_stay_within_their_bound() {
        for lexeme in [
            "0",
            "-0",
            "0.0",
            "7",
            "-122.42916360922355",
            "37.729900216217324",
            "9007199254740993",
            "1234567890123456789",
            "12345678901234567890",
            "0.1234567890123456789",
            "1e22",
            "1e23",
            "1.5e-7",
            "123456789e-30",
            "123456789e-31",
            "0.000000000000000000001",
            "99999999999999999.99",
            "18446744073709551615",
        ] {
            check_approximation(lexeme);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        #[test]
        fn approximations_stay_within_their_bound_everywhere(
            negative in proptest::bool::ANY,
            int in "0|[1-9][0-9]{0,20}",
            frac in proptest::option::of("[0-9]{1,22}"),
            exp in proptest::option::of(-30i32..30),
        ) {
            let mut lexeme = String::new();
            if negative {
                lexeme.push('-');
            }
            lexeme += &int;
            if let Some(frac) = frac {
                lexeme = lexeme + "." + &frac;
            }
            if let Some(exp) = exp {
                lexeme += &format!("e{exp}");
            }
            check_approximation(&lexeme);
        }
    }

    #[test]
    fn rejects_non_json_numbers() {
        let mut buf = Vec::new();
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "1e+", "+1", "1x", "0x10", "NaN",
        ] {
            assert!(!encode(bad.as_bytes(), &mut buf), "{bad}");
        }
    }
}
