//! Shared data for the benches: the citylots2 corpus and its rule sets, from
//! `../shared/data` when present, otherwise generated here deterministically.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::value::RawValue;

/// One rule of a benchmark set.
pub struct BenchRule {
    pub name: String,
    pub pattern: String,
    /// Matches expected over the corpus, when known.
    pub expected: Option<u64>,
}

/// A named set of rules.
pub struct RuleSet {
    pub name: String,
    pub rules: Vec<BenchRule>,
}

/// Events plus rule sets.
pub struct Corpus {
    pub source: String,
    pub events: Vec<Vec<u8>>,
    pub sets: Vec<RuleSet>,
}

#[derive(Deserialize)]
struct FileSets {
    sets: Vec<FileSet>,
}

#[derive(Deserialize)]
struct FileSet {
    name: String,
    rules: Vec<FileRule>,
}

#[derive(Deserialize)]
struct FileRule {
    name: String,
    pattern: Box<RawValue>,
    expected_matches: u64,
}

fn shared_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
}

/// The citylots2 corpus: the shared file and its expected counts when it is
/// beside the repository, else `generate(events)` with counts left to the
/// reference matcher.
pub fn citylots(generated_events: usize) -> Corpus {
    let dir = shared_data();
    let sets_text = std::fs::read_to_string(dir.join("citylots2-rulesets.json"));
    let file = std::fs::File::open(dir.join("citylots2.json.gz"));
    if let (Ok(sets_text), Ok(file)) = (sets_text, file) {
        let sets: FileSets = serde_json::from_str(&sets_text).expect("rulesets parse");
        let reader = BufReader::new(flate2::read::MultiGzDecoder::new(file));
        let events: Vec<Vec<u8>> = reader
            .split(b'\n')
            .map(|l| l.expect("corpus reads"))
            .filter(|l| !l.is_empty())
            .collect();
        return Corpus {
            source: "shared/data/citylots2.json.gz".into(),
            events,
            sets: sets
                .sets
                .into_iter()
                .map(|s| RuleSet {
                    name: s.name,
                    rules: s
                        .rules
                        .into_iter()
                        .map(|r| BenchRule {
                            name: r.name,
                            pattern: r.pattern.get().to_string(),
                            expected: Some(r.expected_matches),
                        })
                        .collect(),
                })
                .collect(),
        };
    }
    Corpus {
        source: format!("generated ({generated_events} events)"),
        events: generate(generated_events),
        sets: generated_sets(),
    }
}

/// SplitMix64: small, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const STREETS: &[&str] = &[
    "ORTEGA", "MARKET", "MISSION", "VALENCIA", "FOLSOM", "HARRISON", "BRYANT", "GEARY", "CLEMENT",
    "IRVING", "JUDAH", "NORIEGA", "TARAVAL", "SLOAT", "CASTRO", "NOE", "SANCHEZ", "CHURCH",
];
const STREET_TYPES: &[&str] = &["ST", "AVE", "BLVD", "WAY", "TER", "CT", "PL"];

/// Citylots-shaped GeoJSON features, one JSON object per line, in the same
/// layout as the shared corpus (spaces after `{`, `:` and `,`).
pub fn generate(count: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x5eed_c17e_1075);
    (0..count)
        .map(|i| {
            let block = 1 + (i / 40) % 9000;
            let lot = 1 + i % 40;
            let street = STREETS[rng.below(STREETS.len() as u64) as usize];
            let st_type = if rng.below(600) == 0 {
                "null".to_string()
            } else {
                format!("\"{}\"", STREET_TYPES[rng.below(STREET_TYPES.len() as u64) as usize])
            };
            let from = 1 + rng.below(3000);
            let numbers = if rng.below(100) == 0 {
                String::new()
            } else {
                format!("\"FROM_ST\": \"{from}\", \"TO_ST\": \"{}\", ", from + rng.below(40))
            };
            let multi = rng.below(1800) == 0;
            let points = 5 + rng.below(20) as usize;
            let (x0, y0) = (-122.52 + rng.unit() * 0.15, 37.70 + rng.unit() * 0.11);
            let ring: Vec<String> = (0..points)
                .map(|_| {
                    let x = x0 + (rng.unit() - 0.5) * 0.002;
                    let y = y0 + (rng.unit() - 0.5) * 0.002;
                    format!("{{ \"x\": {x}, \"y\": {y}, \"z\": 0 }}")
                })
                .collect();
            let ring = format!("[ {} ]", ring.join(", "));
            let (kind, coordinates) = if multi {
                ("MultiPolygon", format!("[ [ {ring} ], [ {ring} ] ]"))
            } else {
                ("Polygon", format!("[ {ring} ]"))
            };
            let lot_id = format!("{block:04}{lot:03}");
            format!(
                "{{ \"type\": \"Feature\", \"properties\": {{ \"MAPBLKLOT\": \"{lot_id}\", \"BLKLOT\": \"{lot_id}\", \"BLOCK_NUM\": \"{block:04}\", \"LOT_NUM\": \"{lot:03}\", {numbers}\"STREET\": \"{street}\", \"ST_TYPE\": {st_type}, \"ODD_EVEN\": \"{}\" }}, \"geometry\": {{ \"type\": \"{kind}\", \"coordinates\": {coordinates}, \"firstCoordinates\": {{ \"x\": {x0}, \"y\": {y0}, \"z\": 0 }} }} }}",
                if from.is_multiple_of(2) { "E" } else { "O" }
            )
            .into_bytes()
        })
        .collect()
}

fn set(name: &str, patterns: &[&str]) -> RuleSet {
    RuleSet {
        name: name.to_string(),
        rules: patterns
            .iter()
            .enumerate()
            .map(|(i, p)| BenchRule {
                name: format!("r{}", i + 1),
                pattern: p.to_string(),
                expected: None,
            })
            .collect(),
    }
}

/// Rule sets in the spirit of event-ruler's citylots2 benchmark, for the
/// generated corpus.
pub fn generated_sets() -> Vec<RuleSet> {
    vec![
        set(
            "EXACT",
            &[
                r#"{"properties": {"MAPBLKLOT": ["0001001"]}}"#,
                r#"{"properties": {"STREET": ["MARKET"], "ST_TYPE": ["ST"]}}"#,
                r#"{"properties": {"BLOCK_NUM": ["0042"]}}"#,
                r#"{"geometry": {"type": ["MultiPolygon"]}}"#,
                r#"{"properties": {"ODD_EVEN": ["E"], "STREET": ["NOE"]}}"#,
            ],
        ),
        set(
            "PREFIX",
            &[
                r#"{"properties": {"STREET": [{"prefix": "MA"}]}}"#,
                r#"{"properties": {"BLKLOT": [{"prefix": "00"}]}}"#,
                r#"{"properties": {"FROM_ST": [{"prefix": "12"}]}}"#,
            ],
        ),
        set(
            "WILDCARD",
            &[
                r#"{"properties": {"STREET": [{"wildcard": "*A*"}]}}"#,
                r#"{"properties": {"MAPBLKLOT": [{"wildcard": "00*1"}]}}"#,
            ],
        ),
        set(
            "ANYTHING-BUT",
            &[
                r#"{"properties": {"ST_TYPE": [{"anything-but": ["ST", "AVE"]}]}}"#,
                r#"{"properties": {"FROM_ST": [{"anything-but": {"prefix": "1"}}]}}"#,
            ],
        ),
        set(
            "NUMERIC",
            &[
                r#"{"geometry": {"firstCoordinates": {"x": [{"numeric": ["<", -122.45]}]}}}"#,
                r#"{"geometry": {"firstCoordinates": {"y": [{"numeric": [">", 37.75, "<=", 37.78]}]}}}"#,
            ],
        ),
        set(
            "COMPLEX_ARRAYS",
            &[
                r#"{"geometry": {"type": ["Polygon"], "coordinates": {"x": [{"numeric": ["<", -122.5]}]}}}"#,
                r#"{"geometry": {"coordinates": {"y": [{"numeric": [">", 37.8]}], "x": [{"numeric": [">", -122.4]}]}}}"#,
            ],
        ),
    ]
}
pub mod imagebuilder;
