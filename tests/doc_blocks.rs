//! Every Rust block in the guides is compiled: each Markdown file under docs/ (and the
//! README) that holds a block rustdoc would treat as Rust — a fence with no language, or
//! one starting with `rust` — is included with `include_str!` under `#[cfg(doctest)]`
//! somewhere in src/, so `cargo test --doc` builds it.

use std::fs;
use std::path::{Path, PathBuf};

/// The opening fences of `text`'s code blocks, with their line numbers.
fn opening_fences(text: &str) -> Vec<(usize, String)> {
    let mut open = false;
    let mut fences = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            if !open {
                fences.push((i + 1, info.trim().to_string()));
            }
            open = !open;
        }
    }
    fences
}

/// Whether rustdoc compiles a block with this info string: no language, or `rust…`, or
/// only attributes rustdoc knows (`no_run`, `ignore`, `should_panic`, …).
fn is_rust(info: &str) -> bool {
    let first = info.split([',', ' ']).next().unwrap_or("");
    first.is_empty()
        || first == "rust"
        || matches!(
            first,
            "no_run" | "ignore" | "should_panic" | "compile_fail" | "edition2021" | "edition2024"
        )
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The Markdown files `include_str!`-ed by the crate's sources, by file name.
fn included() -> Vec<String> {
    let mut files = Vec::new();
    sources(Path::new("src"), &mut files);
    let mut names = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        for piece in text.split("include_str!(\"").skip(1) {
            if let Some(path) = piece.split('"').next()
                && path.ends_with(".md")
            {
                let name = path.trim_start_matches("../");
                names.push(name.to_string());
            }
        }
    }
    names
}

#[test]
fn every_guide_with_a_rust_block_is_compiled_as_a_doc_test() {
    let included = included();
    let mut guides: Vec<PathBuf> = fs::read_dir("docs")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    guides.push(PathBuf::from("README.md"));
    let mut missing = Vec::new();
    for guide in &guides {
        let text = fs::read_to_string(guide).unwrap();
        let rust: Vec<usize> = opening_fences(&text)
            .into_iter()
            .filter(|(_, info)| is_rust(info))
            .map(|(line, _)| line)
            .collect();
        let name = guide.to_string_lossy().replace('\\', "/");
        if !rust.is_empty() && !included.contains(&name) {
            missing.push(format!("{name} (Rust blocks at lines {rust:?})"));
        }
    }
    assert!(
        missing.is_empty(),
        "guides whose Rust blocks are not compiled (add them to src/doc_tests.rs): {missing:?}"
    );
    // The check itself sees what it must: the README and docs/sync.md have Rust blocks and
    // are included.
    assert!(included.iter().any(|n| n == "README.md"));
    assert!(included.iter().any(|n| n == "docs/sync.md"));
}

#[test]
fn the_fence_reader_tells_rust_blocks_from_others() {
    let text = "a\n```rust,no_run\nx\n```\n```text\ny\n```\n```\nz\n```\n";
    let fences = opening_fences(text);
    assert_eq!(fences.len(), 3);
    let rust: Vec<bool> = fences.iter().map(|(_, i)| is_rust(i)).collect();
    assert_eq!(rust, vec![true, false, true]);
}

#[test]
fn every_block_in_the_guides_names_its_language() {
    // A fence without a language is compiled as Rust by rustdoc: a figure or a log line
    // pasted that way breaks `cargo test --doc` with an unclear error. Say `text`.
    let mut bare = Vec::new();
    let mut guides: Vec<PathBuf> = fs::read_dir("docs")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    guides.push(PathBuf::from("README.md"));
    for guide in &guides {
        let text = fs::read_to_string(guide).unwrap();
        for (line, info) in opening_fences(&text) {
            if info.is_empty() {
                bare.push(format!("{}:{line}", guide.display()));
            }
        }
    }
    assert!(
        bare.is_empty(),
        "code blocks without a language (write ```text or ```rust): {bare:?}"
    );
}
