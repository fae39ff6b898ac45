//! Z85 (RFC 32). STUB: being written; see the brief.

/// Encodes `data` (a multiple of 4 bytes) as Z85.
pub fn encode(data: &[u8]) -> Result<String, std::fmt::Error> {
    let _ = data;
    Err(std::fmt::Error)
}
