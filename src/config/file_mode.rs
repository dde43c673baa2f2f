//! A config file that holds a secret (`exchange.api_secret`, `control.token`) and that other
//! users may read gives the secret to them: warned at start and by check-config, as ssh does
//! for a private key.

use std::path::Path;

/// The warning, when the file holds a secret and its group or others may read it.
pub fn secrets_file_warning(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let held = held_secrets(&text);
    if held.is_empty() {
        return None;
    }
    let mode = file_mode(path)?;
    (mode & 0o044 != 0).then(|| {
        format!(
            "{} holds {} and is readable by {} (mode {:o}): run `chmod 600 {}`, or move the secrets to the environment (MMBOT_API_SECRET, MMBOT_CONTROL_TOKEN)",
            path.display(),
            held.join(" and "),
            if mode & 0o004 != 0 { "every user" } else { "its group" },
            mode & 0o777,
            path.display()
        )
    })
}

/// The secret keys the file sets to something non-empty.
fn held_secrets(text: &str) -> Vec<&'static str> {
    let Ok(doc) = text.parse::<toml::Table>() else { return Vec::new() };
    let set = |section: &str, key: &str| {
        doc.get(section)
            .and_then(|s| s.get(key))
            .and_then(|v| v.as_str())
            .is_some_and(|v| !v.trim().is_empty())
    };
    let mut held = Vec::new();
    if set("exchange", "api_secret") {
        held.push("exchange.api_secret");
    }
    if set("control", "token") {
        held.push("control.token");
    }
    held
}

#[cfg(unix)]
fn file_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).ok().map(|m| m.permissions().mode())
}

#[cfg(not(unix))]
fn file_mode(_: &Path) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_readable_file_with_a_secret_warns_and_chmod_600_silences_it() {
        let dir = std::env::temp_dir().join(format!("mmbot-file-mode-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("live.toml");
        std::fs::write(&path, "mode = \"live\"\n[exchange]\napi_secret = \"s3cr3t\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let w = secrets_file_warning(&path).expect("a warning");
        assert!(
            w.contains("chmod 600") && w.contains("exchange.api_secret") && w.contains("every user"),
            "{w}"
        );
        assert!(!w.contains("s3cr3t"), "never the secret itself");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(secrets_file_warning(&path), None);
        std::fs::write(&path, "mode = \"live\"\n[exchange]\napi_secret = \"\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(secrets_file_warning(&path), None, "no secret in it: nothing to warn of");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
