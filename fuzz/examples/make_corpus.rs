//! Write the seed corpora: `cargo run --example make_corpus [DIR]` (default: fuzz/seeds).
//! Each target gets DIR/<target>/<name>; see fuzz/src/corpus.rs for what is recorded.
fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/seeds").to_string());
    let dir = std::path::Path::new(&dir);
    let seeds = ferrotls_fuzz::corpus::seeds();
    for s in &seeds {
        let d = dir.join(s.target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(&s.name), &s.data).unwrap();
    }
    println!("{} seed files written under {}", seeds.len(), dir.display());
}
