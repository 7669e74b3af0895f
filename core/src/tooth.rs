//! Tooth numbering: FDI two-digit numbers (quadrant 1–4 permanent with positions 1–8, 5–8
//! primary with positions 1–5).

/// True when `n` is a valid FDI tooth number, permanent or primary.
///
/// ```
/// use imprint_core::tooth::is_fdi;
/// assert!(is_fdi(36) && is_fdi(85) && !is_fdi(19) && !is_fdi(86));
/// ```
pub fn is_fdi(n: u8) -> bool {
    let (quadrant, position) = (n / 10, n % 10);
    match quadrant {
        1..=4 => (1..=8).contains(&position),
        5..=8 => (1..=5).contains(&position),
        _ => false,
    }
}
