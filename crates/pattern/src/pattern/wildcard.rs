//! `wildcard` patterns: `*` matches any run of characters, `\*` is a literal
//! star, `\\` a literal backslash; nothing else is special.

use std::collections::HashSet;

/// The largest number of pattern positions that may be active at once while
/// reading an input. AWS does not publish its threshold; it accepts
/// `arn:aws:events:us-east-1:*:event-bus/*` and
/// `/Users/*/dir/dir/dir/dir/dir/doc.txt` (8) and rejects
/// `*:*:*:*:*:event-bus/*` (13). See `spec/README.md`.
pub(crate) const MAX_ACTIVE_POSITIONS: usize = 10;

/// Bound on the subset construction used to measure complexity.
const MAX_EXPLORED_STATES: usize = 4096;

pub(crate) const TOO_COMPLEX: &str = "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character";

/// Where a literal part of a wildcard must appear in a matching value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PartPlace {
    /// At the start (the pattern does not begin with a star).
    Leading,
    /// At the end (the pattern does not end with a star).
    Trailing,
    /// Anywhere.
    Inside,
}

/// A parsed wildcard: literal parts separated by stars.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Wildcard {
    /// `parts.len() - 1` stars separate these literal byte strings.
    parts: Vec<Vec<u8>>,
}

impl Wildcard {
    /// Parses the (already JSON-decoded) pattern text.
    pub(crate) fn parse(text: &str) -> Result<Wildcard, String> {
        let bytes = text.as_bytes();
        let mut parts = vec![Vec::new()];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'*' => {
                    if bytes.get(i + 1) == Some(&b'*') {
                        // AWS counts from the pattern's opening quote.
                        return Err(format!("Consecutive wildcard characters at pos {}", i + 1));
                    }
                    parts.push(Vec::new());
                }
                b'\\' => match bytes.get(i + 1) {
                    Some(&c @ (b'*' | b'\\')) => {
                        if let Some(last) = parts.last_mut() {
                            last.push(c);
                        }
                        i += 1;
                    }
                    _ => return Err(format!("Invalid escape character at pos {}", i + 1)),
                },
                c => {
                    if let Some(last) = parts.last_mut() {
                        last.push(c);
                    }
                }
            }
            i += 1;
        }
        let wildcard = Wildcard { parts };
        if wildcard.max_active_positions() > MAX_ACTIVE_POSITIONS {
            return Err(TOO_COMPLEX.to_string());
        }
        Ok(wildcard)
    }

    /// The non-empty literal parts: any matching value contains each.
    pub(crate) fn literal_parts(&self) -> impl Iterator<Item = &[u8]> {
        self.parts
            .iter()
            .filter(|p| !p.is_empty())
            .map(Vec::as_slice)
    }

    /// The literal parts with where each sits: a matching value starts
    /// with a [`PartPlace::Leading`] part, ends with a
    /// [`PartPlace::Trailing`] one and contains the others.
    pub(crate) fn placed_parts(&self) -> impl Iterator<Item = (&[u8], PartPlace)> {
        let last = self.parts.len() - 1;
        self.parts
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.is_empty())
            .map(move |(i, p)| {
                let place = if i == 0 {
                    PartPlace::Leading
                } else if i == last {
                    PartPlace::Trailing
                } else {
                    PartPlace::Inside
                };
                (p.as_slice(), place)
            })
    }

    /// Whether `value` matches the whole pattern.
    pub(crate) fn matches(&self, value: &[u8]) -> bool {
        let parts = &self.parts;
        if parts.len() == 1 {
            return value == parts[0].as_slice();
        }
        let first = &parts[0];
        let last = &parts[parts.len() - 1];
        if value.len() < first.len() + last.len()
            || !value.starts_with(first)
            || !value.ends_with(last)
        {
            return false;
        }
        // Leftmost placement of each middle part is optimal for `*`-only globs.
        let mut rest = &value[first.len()..value.len() - last.len()];
        for part in &parts[1..parts.len() - 1] {
            match memchr::memmem::find(rest, part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        true
    }

    /// The largest set of simultaneously active positions of the pattern's
    /// NFA over any input (subset construction, bounded).
    fn max_active_positions(&self) -> usize {
        // Items: Some(byte) for a literal, None for a star.
        let mut items: Vec<Option<u8>> = Vec::new();
        for (n, part) in self.parts.iter().enumerate() {
            if n > 0 {
                items.push(None);
            }
            items.extend(part.iter().map(|&b| Some(b)));
        }
        let closure = |set: &mut Vec<usize>| {
            let mut i = 0;
            while i < set.len() {
                let p = set[i];
                if p < items.len() && items[p].is_none() && !set.contains(&(p + 1)) {
                    set.push(p + 1);
                }
                i += 1;
            }
            set.sort_unstable();
            set.dedup();
        };
        let mut alphabet: Vec<Option<u8>> = items.iter().copied().flatten().map(Some).collect();
        alphabet.sort_unstable();
        alphabet.dedup();
        alphabet.push(None); // any byte not in the pattern
        let mut start = vec![0];
        closure(&mut start);
        let mut seen: HashSet<Vec<usize>> = HashSet::from([start.clone()]);
        let mut todo = vec![start];
        let mut widest = 0;
        while let Some(set) = todo.pop() {
            widest = widest.max(set.len());
            // Only "over the limit or not" matters: stop as soon as it is known.
            if widest > MAX_ACTIVE_POSITIONS || seen.len() > MAX_EXPLORED_STATES {
                return usize::MAX;
            }
            for &symbol in &alphabet {
                let mut next: Vec<usize> = Vec::new();
                for &p in &set {
                    match items.get(p) {
                        Some(None) => next.push(p),
                        Some(Some(b)) if symbol == Some(*b) => next.push(p + 1),
                        _ => {}
                    }
                }
                closure(&mut next);
                if !next.is_empty() && seen.insert(next.clone()) {
                    todo.push(next);
                }
            }
        }
        widest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Wildcard {
        Wildcard::parse(s).unwrap()
    }

    #[test]
    fn matching() {
        assert!(w("/Users/*/doc.txt").matches(b"/Users/a/b/c/doc.txt"));
        assert!(!w("/Users/*/doc.txt").matches(b"/Users/a/b/c/notdoc.tx"));
        assert!(w("*").matches(b""));
        assert!(w("").matches(b""));
        assert!(!w("").matches(b"x"));
        assert!(w("a*a").matches(b"aa"));
        assert!(!w("a*a").matches(b"a"));
        assert!(w("*/dir/*").matches(b"x/dir/y"));
        assert!(w("a*b*c").matches(b"abbbc"));
        assert!(w(r"a\*b").matches(b"a*b"));
        assert!(!w(r"a\*b").matches(b"axb"));
        assert!(w(r"a\\*").matches(b"a\\zz"));
    }

    #[test]
    fn errors() {
        assert_eq!(
            Wildcard::parse("arn:aws:events:us-east-1:**:event-bus/*").unwrap_err(),
            "Consecutive wildcard characters at pos 26"
        );
        assert_eq!(
            Wildcard::parse(r"a\b").unwrap_err(),
            "Invalid escape character at pos 2"
        );
        assert_eq!(
            Wildcard::parse("a\\").unwrap_err(),
            "Invalid escape character at pos 2"
        );
        assert_eq!(
            Wildcard::parse("*:*:*:*:*:event-bus/*").unwrap_err(),
            TOO_COMPLEX
        );
        assert!(Wildcard::parse("arn:aws:events:us-east-1:*:event-bus/*").is_ok());
        assert!(Wildcard::parse("/Users/*/dir/dir/dir/dir/dir/doc.txt").is_ok());
    }
}
