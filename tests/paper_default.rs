//! `mmbot` with the shipped default config: paper trading on the embedded simulator, quoting
//! within seconds, and Ctrl+C printing the whole sequence with "cancelled N orders", exit 0.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

#[actix_rt::test]
async fn default_paper_run_quotes_then_stops_clean_on_ctrl_c() {
    let dir = temp_dir("paper");
    let control = free_port();
    let stdout_path = dir.join("stdout.txt");
    let stderr_path = dir.join("stderr.txt");
    let child = Command::new(env!("CARGO_BIN_EXE_mmbot"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["--control-listen", &control.to_string(), "--data-dir"])
        .arg(dir.join("data"))
        .env_remove("MMBOT_API_KEY")
        .env_remove("MMBOT_API_SECRET")
        .env_remove("MMBOT_CONTROL_TOKEN")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let mut bot = Bot {
        child,
        control,
        dir: dir.clone(),
        stdout_path,
        stderr_path,
    };
    let http = awc::Client::new();
    let started = Instant::now();
    let open = loop {
        if let Ok(mut r) = http.get(bot.control_url("/status")).send().await {
            let s: Value = r.json().await.unwrap();
            let n = s["open_orders"].as_array().map(|a| a.len()).unwrap_or(0);
            if n >= 24 {
                break n;
            }
        }
        assert!(bot.is_running(), "mmbot exited; see {}", bot.stderr_path.display());
        assert!(started.elapsed() < Duration::from_secs(20), "quotes within seconds");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(open >= 24);
    // The generated control token is in the data directory, readable by the owner only.
    let token = std::fs::read_to_string(dir.join("data/control-token")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(dir.join("data/control-token")).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(http.post(bot.control_url("/shutdown")).send().await.unwrap().status().as_u16(), 401);
    bot.signal(libc::SIGINT);
    let exit = bot.wait_exit(Duration::from_secs(45));
    assert_eq!(exit.code, 0, "{}", exit.stdout);
    assert_all_steps_ok(&exit.stdout);
    assert!(
        exit.stdout.contains("cancelled ") && exit.stdout.contains(" orders, verified 0 open on the exchange"),
        "{}",
        exit.stdout
    );
    assert!(!exit.stderr.contains(token.trim()), "the token never reaches the logs");
}
