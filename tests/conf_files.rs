//! Every shipped example configuration is valid for fulcrum, and for
//! Debian's HAProxy too when it is installed: conf/ is real HAProxy syntax.

use std::path::{Path, PathBuf};
use std::process::Command;

/// conf/'s files with this extension, and conf/ha's (the HA pair).
fn conf_files(ext: &str) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for sub in ["conf", "conf/ha"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(sub);
        v.extend(
            std::fs::read_dir(&dir)
                .expect("conf/ exists")
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == ext)),
        );
    }
    v.sort();
    v
}

fn run(cmd: &str, file: &Path) -> (i32, String) {
    let out = Command::new(cmd)
        .arg("-c")
        .arg("-f")
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn fulcrum_accepts_every_conf_file() {
    let files: Vec<PathBuf> = conf_files("cfg")
        .into_iter()
        .chain(conf_files("yaml"))
        .collect();
    assert!(
        files.len() >= 4,
        "expected the example configs and their YAML twins in conf/"
    );
    for f in files {
        let (code, out) = run(env!("CARGO_BIN_EXE_fulcrum"), &f);
        assert_eq!(code, 0, "fulcrum -c -f {}:\n{out}", f.display());
    }
}

#[test]
fn haproxy_accepts_every_conf_cfg() {
    if Command::new("haproxy").arg("-v").output().is_err() {
        eprintln!("haproxy is not installed: skipping (.ci/run installs it)");
        return;
    }
    for f in conf_files("cfg") {
        let (code, out) = run("haproxy", &f);
        assert_eq!(code, 0, "haproxy -c -f {}:\n{out}", f.display());
    }
}

#[test]
fn yaml_twins_hold_the_same_model() {
    use fulcrum::config::{load, Config};
    for cfg in conf_files("cfg") {
        let yaml = cfg.with_extension("yaml");
        if !yaml.exists() {
            continue;
        }
        let a: Config = load(std::slice::from_ref(&cfg)).config;
        let b: Config = load(std::slice::from_ref(&yaml)).config;
        assert_eq!(a, b, "{} and {} differ", cfg.display(), yaml.display());
    }
}

#[test]
fn debian_default_haproxy_cfg_is_accepted() {
    // The file Debian's package installs, when present: an operator's first config.
    let f = Path::new("/etc/haproxy/haproxy.cfg");
    if !f.exists() {
        eprintln!("/etc/haproxy/haproxy.cfg not present: skipping");
        return;
    }
    let (code, out) = run(env!("CARGO_BIN_EXE_fulcrum"), f);
    // It has no frontend, so "valid but nothing listens" (2) is HAProxy's answer too.
    assert!(
        code == 0 || code == 2,
        "fulcrum -c -f {}:\n{out}",
        f.display()
    );
    let errors: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("/etc/haproxy/haproxy.cfg:") && !l.contains(": warning: "))
        .collect();
    assert!(errors.is_empty(), "{out}");
}
