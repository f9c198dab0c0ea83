//! Byte tries whose nodes carry targets: walking a value collects the
//! targets of every node on its path, which are the patterns that are
//! prefixes of the value (or, walked backwards, suffixes).
//!
//! A trie is grown node by node in a [`ByteTrieBuilder`], then frozen into
//! a [`ByteTrie`] of four flat arrays, so that a trie of a million nodes is
//! four allocations rather than two per node.

use super::append;

/// A trie being grown: each node owns its sorted edges and its targets.
#[derive(Clone, Debug, Default)]
pub(super) struct ByteTrieBuilder {
    nodes: Vec<BuilderNode>,
}

#[derive(Clone, Debug, Default)]
struct BuilderNode {
    edges: Vec<(u8, u32)>,
    targets: Vec<u32>,
}

impl ByteTrieBuilder {
    /// Files `target` under the path `bytes`.
    pub(super) fn insert(&mut self, bytes: impl Iterator<Item = u8>, target: u32) {
        if self.nodes.is_empty() {
            self.nodes.push(BuilderNode::default());
        }
        let mut node = 0usize;
        for b in bytes {
            let edges = &self.nodes[node].edges;
            node = match edges.binary_search_by_key(&b, |&(k, _)| k) {
                Ok(i) => edges[i].1 as usize,
                Err(i) => {
                    let id = self.nodes.len();
                    self.nodes.push(BuilderNode::default());
                    self.nodes[node].edges.insert(i, (b, id as u32));
                    id
                }
            };
        }
        self.nodes[node].targets.push(target);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The frozen trie, with the same node numbers.
    pub(super) fn finish(self) -> ByteTrie {
        if self.nodes.is_empty() {
            return ByteTrie::default();
        }
        let edge_count: usize = self.nodes.iter().map(|n| n.edges.len()).sum();
        let target_count: usize = self.nodes.iter().map(|n| n.targets.len()).sum();
        let mut trie = ByteTrie {
            starts: Vec::with_capacity(self.nodes.len() + 1),
            edge_bytes: Vec::with_capacity(edge_count),
            edge_nodes: Vec::with_capacity(edge_count),
            targets: Vec::with_capacity(target_count),
        };
        for node in self.nodes {
            trie.starts
                .push((trie.edge_bytes.len() as u32, trie.targets.len() as u32));
            for (byte, next) in node.edges {
                trie.edge_bytes.push(byte);
                trie.edge_nodes.push(next);
            }
            trie.targets.extend_from_slice(&node.targets);
        }
        trie.starts
            .push((trie.edge_bytes.len() as u32, trie.targets.len() as u32));
        trie
    }
}

/// A frozen trie. Node `n`'s edges are `edge_bytes[e..e']` (sorted) leading
/// to `edge_nodes[e..e']`, and its targets `targets[t..t']`, where
/// `starts[n] = (e, t)` and `starts[n + 1] = (e', t')`. An empty trie has no
/// nodes at all; otherwise node 0 is the root.
#[derive(Clone, Debug, Default)]
pub(super) struct ByteTrie {
    starts: Vec<(u32, u32)>,
    edge_bytes: Vec<u8>,
    edge_nodes: Vec<u32>,
    targets: Vec<u32>,
}

impl ByteTrie {
    /// Appends the targets of every node on the path `bytes` spells.
    #[inline]
    pub(super) fn collect(&self, mut bytes: impl Iterator<Item = u8>, out: &mut Vec<u32>) {
        if self.starts.is_empty() {
            return;
        }
        let mut node = 0usize;
        let (mut edges, mut targets) = self.starts[0];
        loop {
            let (edges_end, targets_end) = self.starts[node + 1];
            append(out, &self.targets[targets as usize..targets_end as usize]);
            let Some(byte) = bytes.next() else {
                return;
            };
            let span = &self.edge_bytes[edges as usize..edges_end as usize];
            let Ok(i) = span.binary_search(&byte) else {
                return;
            };
            node = self.edge_nodes[edges as usize + i] as usize;
            (edges, targets) = self.starts[node];
        }
    }

    pub(super) fn memory_usage(&self) -> usize {
        self.starts.len() * 8
            + self.edge_bytes.len()
            + self.edge_nodes.len() * 4
            + self.targets.len() * 4
    }
}
