//! The module graph of the engine, read from the `crate::…` paths in `src/`: which top-level
//! module names which. A new import cycle between top-level modules fails this test, and so
//! does removing one without taking it off `KNOWN_CYCLES`, which is empty now (the list only
//! shrinks; docs/ARCHITECTURE.md "Layers, bottom to top" gives the rules).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules that name each other today, one set per strongly connected component. None:
/// the handshake context (`context`) sits below the states, `conn` above them, and `record`
/// takes keys and IVs that the key schedules derive.
const KNOWN_CYCLES: &[&[&str]] = &[];

/// Modules that must stay leaves below everything that speaks the protocol.
const BELOW: &[(&str, &[&str])] = &[
    // The record layer frames and protects; it knows no version's key schedule, no state.
    (
        "record",
        &[
            "conn", "context", "client", "server", "tls12", "tls13", "ffi",
        ],
    ),
    // The handshake context is below every state and the connection.
    (
        "context",
        &["conn", "client", "server", "tls12", "tls13", "ffi"],
    ),
    (
        "crypto",
        &[
            "conn", "client", "server", "tls12", "tls13", "record", "ffi",
        ],
    ),
    (
        "verify",
        &[
            "conn", "client", "server", "tls12", "tls13", "record", "ffi",
        ],
    ),
    (
        "codec",
        &[
            "conn", "client", "server", "tls12", "tls13", "record", "ffi", "crypto", "verify",
        ],
    ),
];

fn top_level(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// Every top-level module a source text names through `crate::x` or `use crate::{x, …}`, in
/// code (comment lines, where doc links live, are skipped).
fn named_modules(text: &str) -> BTreeSet<String> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(body) = rest.strip_prefix('{') {
            // `crate::{a::X, b, c::{…}}`: the first segment of each top-level item.
            let mut depth = 0usize;
            let mut item = String::new();
            for ch in body.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        push_first(&item, &mut out);
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(ch);
                }
            }
            push_first(&item, &mut out);
        } else {
            push_first(rest, &mut out);
        }
    }
    out
}

fn push_first(path: &str, out: &mut BTreeSet<String>) {
    let name: String = path
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if !name.is_empty() && name != "self" {
        out.insert(name);
    }
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let top = top_level(rel);
            if top == "lib" {
                continue; // the crate root lists every module
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let entry = deps.entry(top.clone()).or_default();
            for m in named_modules(&text) {
                if m != top {
                    entry.insert(m);
                }
            }
        }
    }
    deps
}

/// The strongly connected components with more than one module (Tarjan's algorithm).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    struct St<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(s: &mut St<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        if let Some(ws) = s.g.get(v) {
            for w in ws {
                let w = w.as_str();
                if !s.g.contains_key(w) {
                    continue; // a leaf with no file of its own in the map
                }
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if s.on.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on.remove(w);
                comp.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.out.push(comp);
            }
        }
    }
    let mut s = St {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v.as_str());
        }
    }
    s.out
}

#[test]
fn no_new_import_cycles() {
    let g = graph();
    let mut found: Vec<BTreeSet<String>> = cycles(&g);
    found.sort();
    let mut known: Vec<BTreeSet<String>> = KNOWN_CYCLES
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    known.sort();
    let show = |g: &BTreeMap<String, BTreeSet<String>>, c: &BTreeSet<String>| {
        c.iter()
            .map(|m| {
                let inside: Vec<&str> = g[m]
                    .iter()
                    .filter(|d| c.contains(*d))
                    .map(String::as_str)
                    .collect();
                format!("{m} -> {}", inside.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    assert_eq!(
        found,
        known,
        "the import cycles among src/'s top-level modules changed: now {:?}. A new cycle must \
         not be added; a removed one is taken off KNOWN_CYCLES. Edges inside each: {}",
        found,
        found
            .iter()
            .map(|c| show(&g, c))
            .collect::<Vec<_>>()
            .join(" | ")
    );
}

#[test]
fn lower_layers_do_not_name_upper_ones() {
    let g = graph();
    for (low, uppers) in BELOW {
        let named = g.get(*low).cloned().unwrap_or_default();
        for up in *uppers {
            assert!(
                !named.contains(*up),
                "src/{low} names crate::{up}: {low} must stay below {up}"
            );
        }
    }
}

#[test]
fn the_parser_reads_braced_and_plain_paths() {
    let m = named_modules(
        "use crate::codec::X;\nuse crate::{conn::{A, B}, error::Error, self};\nlet y = crate::tls13::f();\n/// [`x`]: crate::ffi::X",
    );
    let want: BTreeSet<String> = ["codec", "conn", "error", "tls13"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(m, want);
}
