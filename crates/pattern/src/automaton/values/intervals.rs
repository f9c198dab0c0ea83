//! Closed intervals over byte keys, for numeric ranges (over decimal keys)
//! and CIDR blocks (over address keys).

use super::append;
use super::number_screen::NumberScreen;

/// Closed intervals over byte keys; a query returns every interval holding
/// the key, in O(log n + answers). Bounds are first mapped to "slots": slot
/// `2i+1` is the point `i`, slot `2i` the gap just below it. Each interval
/// is stored in the O(log n) segment-tree nodes covering its slots.
///
/// When every slot's answer fits in a small flat table, only that table is
/// kept and the tree is dropped.
#[derive(Clone, Debug)]
pub(super) struct IntervalIndex {
    /// The points' keys, ascending, back to back: point `i` is
    /// `point_bytes[point_ends[i - 1]..point_ends[i]]`.
    point_bytes: Vec<u8>,
    point_ends: Vec<u32>,
    /// The first 16 bytes of each point, big-endian: most comparisons end here.
    heads: Vec<u128>,
    leaves: usize,
    tree: Vec<Vec<u32>>,
    /// When small enough, every slot's answer laid out flat (slot `s` holds
    /// `slot_targets[slot_starts[s]..slot_starts[s + 1]]`), so that a query
    /// is one copy instead of a walk up the tree.
    slot_starts: Vec<u32>,
    slot_targets: Vec<u32>,
    /// For numeric indexes: places most numbers without their exact key.
    pub(super) screen: NumberScreen,
}

/// Flat per-slot answers are kept up to this many entries in all.
const FLAT_SLOT_LIMIT: usize = 1 << 14;

/// The first 16 bytes of a key as a big-endian integer (zero-padded), so that
/// integer order agrees with byte order on those bytes.
fn key_head(key: &[u8]) -> u128 {
    let mut bytes = [0u8; 16];
    let n = key.len().min(16);
    bytes[..n].copy_from_slice(&key[..n]);
    u128::from_be_bytes(bytes)
}

/// One end of an interval: a key, and whether the key itself is inside.
/// `None` is unbounded.
pub(super) type Bound = Option<(Box<[u8]>, bool)>;

impl IntervalIndex {
    /// The index of `intervals` (low, high, target), or `None` when there
    /// are none.
    pub(super) fn build(intervals: &[(Bound, Bound, u32)]) -> Option<IntervalIndex> {
        let mut index = IntervalIndex::build_tree(intervals)?;
        index.flatten(2 * index.point_count() + 1);
        Some(index)
    }

    /// The index with its tree only, never flattened (tests compare both).
    fn build_tree(intervals: &[(Bound, Bound, u32)]) -> Option<IntervalIndex> {
        if intervals.is_empty() {
            return None;
        }
        let mut points: Vec<&[u8]> = intervals
            .iter()
            .flat_map(|(low, high, _)| [low, high])
            .filter_map(|b| b.as_ref().map(|(k, _)| k.as_ref()))
            .collect();
        points.sort_unstable();
        points.dedup();
        let slots = 2 * points.len() + 1;
        let leaves = slots.next_power_of_two();
        let mut tree: Vec<Vec<u32>> = vec![Vec::new(); 2 * leaves];
        let slot_of = |key: &[u8]| 2 * points.binary_search(&key).unwrap_or(0) + 1;
        for (low, high, target) in intervals {
            let first = match low {
                None => 0,
                Some((k, true)) => slot_of(k),
                Some((k, false)) => slot_of(k) + 1,
            };
            let last = match high {
                None => slots - 1,
                Some((k, true)) => slot_of(k),
                Some((k, false)) => slot_of(k) - 1,
            };
            if first > last {
                continue;
            }
            let (mut l, mut r) = (first + leaves, last + leaves + 1);
            while l < r {
                if l & 1 == 1 {
                    tree[l].push(*target);
                    l += 1;
                }
                if r & 1 == 1 {
                    r -= 1;
                    tree[r].push(*target);
                }
                l >>= 1;
                r >>= 1;
            }
        }
        let mut point_bytes = Vec::with_capacity(points.iter().map(|p| p.len()).sum());
        let mut point_ends = Vec::with_capacity(points.len());
        for point in &points {
            point_bytes.extend_from_slice(point);
            point_ends.push(point_bytes.len() as u32);
        }
        Some(IntervalIndex {
            heads: points.iter().map(|p| key_head(p)).collect(),
            point_bytes,
            point_ends,
            leaves,
            tree,
            slot_starts: Vec::new(),
            slot_targets: Vec::new(),
            screen: NumberScreen::default(),
        })
    }

    /// How many points the index has.
    pub(super) fn point_count(&self) -> usize {
        self.point_ends.len()
    }

    /// Point `i`'s key.
    pub(super) fn point(&self, i: usize) -> &[u8] {
        let start = if i == 0 {
            0
        } else {
            self.point_ends[i - 1] as usize
        };
        &self.point_bytes[start..self.point_ends[i] as usize]
    }

    /// Where `key` is, or would go, among points `low..high`.
    fn search_points(&self, mut low: usize, mut high: usize, key: &[u8]) -> Result<usize, usize> {
        while low < high {
            let middle = low + (high - low) / 2;
            match self.point(middle).cmp(key) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Equal => return Ok(middle),
                std::cmp::Ordering::Greater => high = middle,
            }
        }
        Err(low)
    }

    /// Lays out every slot's answer flat when the total stays small, and
    /// then drops the tree.
    fn flatten(&mut self, slots: usize) {
        let mut starts = Vec::with_capacity(slots + 1);
        let mut targets = Vec::new();
        for slot in 0..slots {
            starts.push(targets.len() as u32);
            let mut node = slot + self.leaves;
            while node >= 1 {
                targets.extend_from_slice(&self.tree[node]);
                if targets.len() > FLAT_SLOT_LIMIT {
                    return;
                }
                node >>= 1;
            }
        }
        starts.push(targets.len() as u32);
        targets.shrink_to_fit();
        self.slot_starts = starts;
        self.slot_targets = targets;
        self.tree = Vec::new();
    }

    #[inline]
    pub(super) fn query(&self, key: &[u8], out: &mut Vec<u32>) {
        let head = key_head(key);
        let found = self.heads.binary_search_by(|&h| h.cmp(&head));
        let position = match found {
            // Equal heads: settle on the whole keys among the equal run.
            Ok(_) => {
                let low = self.heads.partition_point(|&h| h < head);
                let high = self.heads.partition_point(|&h| h <= head);
                self.search_points(low, high, key)
            }
            Err(i) => Err(i),
        };
        let slot = match position {
            Ok(i) => 2 * i + 1,
            Err(i) => 2 * i,
        };
        self.answer(slot, out);
    }

    /// Numeric indexes: appends the targets of the intervals holding the
    /// number `approx` stands for, when the screen can place it; `false`
    /// (nothing appended) when its exact key is needed.
    #[inline]
    pub(super) fn query_approx(&self, approx: f64, out: &mut Vec<u32>) -> bool {
        match self.screen.place(approx) {
            Some(below) => {
                self.answer(2 * below, out);
                true
            }
            None => false,
        }
    }

    /// Appends the targets of slot `slot`.
    #[inline]
    fn answer(&self, slot: usize, out: &mut Vec<u32>) {
        if let Some(range) = self.slot_starts.get(slot..slot + 2) {
            append(
                out,
                &self.slot_targets[range[0] as usize..range[1] as usize],
            );
            return;
        }
        let mut node = slot + self.leaves;
        while node >= 1 {
            append(out, &self.tree[node]);
            node >>= 1;
        }
    }

    /// Whether answers come from the flat table.
    #[cfg(test)]
    pub(super) fn is_flat(&self) -> bool {
        !self.slot_starts.is_empty()
    }

    /// The same index answering from its tree (tests check both ways).
    #[cfg(test)]
    pub(super) fn tree_only(intervals: &[(Bound, Bound, u32)]) -> Option<IntervalIndex> {
        IntervalIndex::build_tree(intervals)
    }

    pub(super) fn memory_usage(&self) -> usize {
        self.point_bytes.len()
            + self.point_ends.len() * 4
            + self.heads.len() * 16
            + self.tree.iter().map(|t| 24 + t.len() * 4).sum::<usize>()
            + (self.slot_starts.len() + self.slot_targets.len()) * 4
            + self.screen.memory_usage()
    }
}

/// An address's key: its family, then its 16 bytes, big-endian.
pub(super) fn ip_key(v6: bool, address: u128, out: &mut Vec<u8>) {
    out.clear();
    out.push(u8::from(v6));
    out.extend_from_slice(&address.to_be_bytes());
}
