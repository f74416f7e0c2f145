//! The layering rules of CONTRIBUTING.md, checked on the source text: no two modules
//! import each other, the IMAP codec imports nothing that does I/O, the message layer
//! imports no protocol, the IMAP session's state is private, every source file opens
//! with a `//!` line and stays below the size limit.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Non-test lines a source file may hold (CONTRIBUTING.md: "below about 800").
const MAX_LINES: usize = 800;

struct Source {
    /// `imap::codec::parse::fetch` for src/imap/codec/parse/fetch.rs; `""` for lib.rs.
    module: String,
    /// The text before the file's unit tests (a `#[cfg(test)]` module at the end).
    code: String,
    /// `code` without comments: what the compiler reads (doc links are not imports).
    paths: String,
    path: PathBuf,
}

fn sources() -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            let text = fs::read_to_string(&path).unwrap();
            // Unit tests: a `#[cfg(test)]` module at the end of the file.
            let end = ["\n#[cfg(test)]\nmod ", "\n#[cfg(test)]\npub mod "]
                .iter()
                .filter_map(|m| text.find(m))
                .min();
            let code = match end {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            Source {
                module: parts.join("::"),
                paths: without_comments(&code),
                code,
                path,
            }
        })
        .collect()
}

fn without_comments(code: &str) -> String {
    code.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths this source names through `crate::` or `super::`, resolved to the
/// longest module of the tree they start with.
fn imports(source: &Source, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let code = &source.paths;
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < code.len() {
        if !code.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let rest = &code[i..];
        let (base, skip) = if rest.starts_with("crate::") {
            (Vec::new(), "crate::".len())
        } else if rest.starts_with("super::") {
            let mut base: Vec<&str> = source
                .module
                .split("::")
                .filter(|s| !s.is_empty())
                .collect();
            let mut skip = 0;
            while code[i + skip..].starts_with("super::") {
                base.pop();
                skip += "super::".len();
            }
            (base.into_iter().map(String::from).collect(), skip)
        } else {
            i += 1;
            continue;
        };
        // A path only when not inside a longer identifier (`my_crate::`).
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_') {
            i += skip;
            continue;
        }
        let tail = &code[i + skip..];
        let segments: Vec<&str> = tail
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap_or("")
            .split("::")
            .filter(|s| !s.is_empty())
            .collect();
        let mut path = base.clone();
        let mut best = base.join("::");
        for segment in segments {
            path.push(segment.to_string());
            let candidate = path.join("::");
            if modules.contains(&candidate) {
                best = candidate;
            }
        }
        found.insert(best);
        i += skip;
    }
    found.remove(&source.module);
    found
}

fn nested(a: &str, b: &str) -> bool {
    let inside = |inner: &str, outer: &str| {
        outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}::"))
    };
    inside(a, b) || inside(b, a)
}

fn graph() -> (Vec<Source>, BTreeMap<String, BTreeSet<String>>) {
    let sources = sources();
    let modules: BTreeSet<String> = sources.iter().map(|s| s.module.clone()).collect();
    let mut edges = BTreeMap::new();
    for s in &sources {
        let targets: BTreeSet<String> = imports(s, &modules)
            .into_iter()
            .filter(|t| !nested(&s.module, t))
            .collect();
        edges.insert(s.module.clone(), targets);
    }
    (sources, edges)
}

#[test]
fn the_import_graph_is_read() {
    // The checks below are only as good as the graph: it must see known imports.
    let (_, edges) = graph();
    assert!(
        edges["imap::connection"].contains("imap::session"),
        "{edges:?}"
    );
    assert!(edges["imap::codec::command"].contains("imap::codec::writer"));
    assert!(edges.len() > 50);
}

#[test]
fn no_two_modules_import_each_other() {
    let (_, edges) = graph();
    let mut cycles = Vec::new();
    for (a, targets) in &edges {
        for b in targets {
            if a < b && edges.get(b).is_some_and(|t| t.contains(a)) {
                cycles.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules importing each other: {cycles:#?}"
    );
}

#[test]
fn the_imap_codec_does_no_io() {
    let (sources, edges) = graph();
    let io = [
        "net",
        "pool",
        "pop3",
        "imap::session",
        "imap::connection",
        "imap::idle",
        "imap::pool",
        "imap::handler",
        "imap::sync",
    ];
    let mut wrong = Vec::new();
    for (module, targets) in edges.iter().filter(|(m, _)| m.starts_with("imap::codec")) {
        for t in targets {
            if io
                .iter()
                .any(|io| t == io || t.starts_with(&format!("{io}::")))
            {
                wrong.push(format!("{module} imports {t}"));
            }
        }
    }
    for s in sources
        .iter()
        .filter(|s| s.module.starts_with("imap::codec"))
    {
        for io in ["std::net", "std::fs", "TcpStream"] {
            if s.code.contains(io) {
                wrong.push(format!("{} names {io}", s.path.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_message_layer_knows_no_protocol() {
    let (sources, edges) = graph();
    let mut wrong = Vec::new();
    for (module, targets) in edges.iter().filter(|(m, _)| m.starts_with("message")) {
        for t in targets {
            if t.starts_with("imap") || t.starts_with("pop3") {
                wrong.push(format!("{module} imports {t}"));
            }
        }
    }
    for s in sources.iter().filter(|s| s.module.starts_with("message")) {
        if s.paths.contains("imap::") || s.paths.contains("pop3::") {
            wrong.push(format!("{} names imap:: or pop3::", s.path.display()));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_imap_session_state_is_private() {
    for s in sources()
        .iter()
        .filter(|s| s.module.starts_with("imap::session"))
    {
        // The fields of `struct Session` (up to its closing brace).
        if let Some(start) = s.code.find("pub(crate) struct Session {") {
            let body = &s.code[start..];
            let body = &body[..body.find("\n}").unwrap()];
            let public: Vec<&str> = body
                .lines()
                .filter(|l| l.trim_start().starts_with("pub"))
                .skip(1)
                .collect();
            assert!(public.is_empty(), "visible Session fields: {public:?}");
        }
    }
}

#[test]
fn every_source_file_says_its_idea_and_stays_small() {
    let mut wrong = Vec::new();
    for s in sources() {
        if !s.code.starts_with("//!") {
            wrong.push(format!("{}: no //! line first", s.path.display()));
        }
        let lines = s.code.lines().count();
        if lines > MAX_LINES {
            wrong.push(format!(
                "{}: {lines} lines before its tests",
                s.path.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
