//! The live page of `idea demo --ui` in a real browser (headless Chromium, Debian's `chromium`, installed by
//! `.ci/run`): a short run is served, the page loads its state from the demo's own server, and it shows the
//! run's figures — the scenario, every cell's money, the contracts, the checks and the charts. A screenshot
//! of it is what the README shows.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use idea_demo::{Live, Options, Scenario};
use std::path::Path;

#[path = "../../test-support/chromium.rs"]
mod browser;

fn headless(chromium: &Path, profile: &Path, args: &[&str]) -> std::process::Output {
    browser::headless(chromium, profile, 4000, args)
}

fn euros(minor: i64) -> String {
    let sign = if minor < 0 { "−" } else { "" };
    format!("{sign}€{}.{:02}", minor.abs() / 100, minor.abs() % 100)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_page_shows_the_run_in_a_browser() {
    let Some(browser) = browser::chromium("the live page") else {
        return;
    };
    let live = Live::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(idea_demo::serve_ui(listener, live.clone()));
    let options = Options {
        scenarios: vec![Scenario::S1],
        hours: 2.0,
        live: Some(live.clone()),
        ..Options::default()
    };
    let report = idea_demo::run(&options, &mut |_| {}).await.unwrap();
    assert!(report.passed);
    let s1 = &report.scenarios[0];
    let state = live.snapshot();
    assert!(state.done);
    assert!(state.frequency.len() > 100, "a point per control step");

    let dir = std::env::temp_dir().join(format!("idea-demo-page-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let browser_task = {
        let (browser, profile, url) = (browser.clone(), dir.join("profile"), url.clone());
        tokio::task::spawn_blocking(move || headless(&browser, &profile, &["--dump-dom", &url]))
    };
    let shown = browser_task.await.unwrap();
    let dom = String::from_utf8_lossy(&shown.stdout);
    assert!(dom.contains("id=\"scenario\">S1<"), "{dom}");
    assert!(dom.contains("id=\"state\">finished<"), "{dom}");
    for m in &s1.money {
        let row = dom
            .split(&format!("<tr data-cell=\"{}\">", m.cell))
            .nth(1)
            .unwrap_or_else(|| panic!("no row of {} in {dom}", m.cell));
        let row = row.split("</tr>").next().unwrap();
        assert!(
            row.contains(&format!("class=\"money\">{}<", euros(m.closing_minor))),
            "{}: {row}",
            m.cell
        );
    }
    assert!(
        dom.contains(&format!("id=\"contracts\">{}<", s1.trades.len())),
        "{dom}"
    );
    let trades_table = dom
        .split("id=\"trades\"")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .unwrap();
    assert_eq!(
        trades_table.matches("<tr class=\"trade\">").count(),
        s1.trades.len(),
        "{:#?}\n{:#?}",
        state.trades,
        s1.trades
    );
    for c in &s1.checks {
        assert!(
            dom.contains(&format!(
                "data-check=\"{}\" data-passed=\"{}\"",
                c.name, c.passed
            )),
            "{} on the page",
            c.name
        );
    }
    assert!(
        dom.contains("class=\"series\""),
        "the frequency chart is drawn"
    );
    assert!(
        dom.contains("class=\"feeder\""),
        "the grid diagram is drawn"
    );

    // The page as a person sees it.
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("demo-live.png");
    let _ = std::fs::remove_file(&shot);
    let screenshot = {
        let (browser, profile, url, shot) = (browser, dir.join("profile"), url, shot.clone());
        tokio::task::spawn_blocking(move || {
            headless(
                &browser,
                &profile,
                &[
                    &format!("--screenshot={}", shot.display()),
                    "--window-size=1400,1500",
                    "--hide-scrollbars",
                    &url,
                ],
            )
        })
    };
    screenshot.await.unwrap();
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 30_000,
        "{} bytes",
        png.len()
    );
    eprintln!("screenshot: {}", shot.display());
    let _ = std::fs::remove_dir_all(&dir);
}
