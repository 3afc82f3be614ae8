//! User and group names to ids, read from the passwd and group files (the
//! `name:x:ID:...` layout both share). Enough for the local accounts a
//! `stats socket ... user haproxy group haproxy` line names; directory
//! services behind NSS are not consulted.

use std::path::Path;

/// The id of `name` in a passwd- or group-style file, if listed.
pub fn lookup(file: impl AsRef<Path>, name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(file).ok()?;
    find(&text, name)
}

fn find(text: &str, name: &str) -> Option<u32> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then_some(())?;
        f.next()?;
        f.next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn finds_the_third_field_of_the_named_line() {
        let text = "# comment\nroot:x:0:0:root:/root:/bin/bash\nhaproxy:x:108:113::/var/lib/haproxy:/usr/sbin/nologin\n";
        assert_eq!(find(text, "haproxy"), Some(108));
        assert_eq!(find(text, "root"), Some(0));
        assert_eq!(find(text, "hap"), None);
        assert_eq!(find("bad:x\n", "bad"), None);
    }
}
