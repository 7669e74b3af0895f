//! The HTML report: written by the CLI as one self-contained page (every picture an
//! embedded PNG that decodes, no external resource), with the decision banner, the reasons,
//! the fit-risk and checklist tables, an overview and a close-up per major finding; and
//! opened in headless Chromium, whose screenshot shows the banner in the decision's colour.
//! `.ci/run` installs Debian's `chromium`; without it the browser part is skipped with a
//! message.

use base64::Engine;
use imprint_phantom::{generate, DefectMix, PhantomSpec};
use std::path::{Path, PathBuf};
use std::process::Command;

fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap_or_else(|e| panic!("{e}"));
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("{e}"));
    buf.truncate(info.buffer_size());
    let channels = info.color_type.samples();
    let rgb = buf
        .chunks(channels)
        .flat_map(|c| [c[0], c[1 % channels], c[2 % channels]])
        .collect();
    (info.width, info.height, rgb)
}

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("IMPRINT_CHROMIUM").map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/chromium")),
        Some(PathBuf::from("/usr/bin/chromium-browser")),
    ];
    candidates.into_iter().flatten().find(|p| p.exists())
}

fn analyze_with_pictures(dir: &Path) -> (String, PathBuf) {
    // A stone cast with a hole and two voids: the policy asks for review.
    let p = generate(&PhantomSpec {
        seed: 21,
        triangles: 60_000,
        defects: DefectMix::parse("holes=1,voids=2").unwrap_or_else(|e| panic!("{e}")),
        ..Default::default()
    });
    imprint_phantom::write(&p, dir).unwrap_or_else(|e| panic!("{e}"));
    let imprint =
        crate::support::build_dir().join(format!("imprint{}", std::env::consts::EXE_SUFFIX));
    let html = dir.join("report.html");
    let o = Command::new(&imprint)
        .args([
            "analyze",
            &dir.join("scan.stl").to_string_lossy(),
            "--case",
            &dir.join("case.json").to_string_lossy(),
            "--only",
            "voids,spikes",
            "--html",
            &html.to_string_lossy(),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        o.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    (std::fs::read_to_string(&html).unwrap_or_default(), html)
}

#[test]
fn the_html_report_is_self_contained_and_renders_in_chromium() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (page, path) = analyze_with_pictures(dir.path());
    assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</body></html>\n"));
    for part in [
        "class=\"banner review\"",
        "<h2>Why</h2>",
        "Fit risk by tooth",
        "occlusal view",
        "Close-ups",
        "<h2>Findings</h2>",
    ] {
        assert!(page.contains(part), "no {part}");
    }
    // Nothing fetched from elsewhere: every source is embedded data.
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("<script"));
    let images: Vec<&str> = page
        .split("src=\"data:image/png;base64,")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert!(images.len() >= 2, "{} pictures", images.len());
    for b64 in &images {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap_or_else(|e| panic!("{e}"));
        let (w, h, rgb) = decode_png(&bytes);
        assert!(w >= 320 && h >= 320);
        // The scan is drawn: a good share of the pixels is not the background.
        let drawn = rgb.chunks(3).filter(|c| *c != [245, 246, 248]).count();
        assert!(
            drawn * 5 > (w * h) as usize,
            "{drawn} of {} pixels drawn",
            w * h
        );
    }
    let Some(browser) = chromium() else {
        eprintln!("skipped the browser check: no chromium (.ci/run installs Debian's package)");
        return;
    };
    let shot = dir.path().join("shot.png");
    let o = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1000,900",
            &format!("--screenshot={}", shot.display()),
            &format!("file://{}", path.display()),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (w, h, rgb) = decode_png(&std::fs::read(&shot).unwrap_or_default());
    assert_eq!((w, h), (1000, 900));
    // The review banner (#e08a00) fills the top of the page.
    let banner = rgb[..(w * 120 * 3) as usize]
        .chunks(3)
        .filter(|c| c[0] > 200 && (120..160).contains(&c[1]) && c[2] < 40)
        .count();
    assert!(banner > 20_000, "{banner} banner pixels in the screenshot");
    // And the overview picture is on screen: the scan's green.
    let green = rgb
        .chunks(3)
        .filter(|c| {
            let [r, g, b] = [c[0], c[1], c[2]].map(i32::from);
            g > r + 20 && g > b + 20
        })
        .count();
    assert!(green > 5_000, "{green} green pixels in the screenshot");
}
