//! `coffre-desktop`: the student's Coffre app.

// No console window beside the app on Windows (release builds).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]
#![forbid(unsafe_code)]

fn main() {
    coffre_desktop::run();
}
