//! The line format: one message per line, frames separated by one TAB, each frame as
//! raw bytes or (with `--hex`) lowercase hex; and reading such lines from stdin and
//! printing received messages to stdout.
//!
//! What must stay true: a line without its newline is exactly one message (an empty line
//! is one empty frame); `--hex` output always decodes back to the same frames; a printed
//! message is flushed at once, so a peer process sees it without waiting for more.

use crate::Failure;
use ferrozmq::Message;
use std::borrow::Cow;
use std::io::{BufRead, Write};

/// Turns one input line (without its newline) into a message: TAB-separated frames.
fn parse_line(line: &[u8], hex: bool) -> Result<Message, String> {
    let frames = line
        .split(|&b| b == b'\t')
        .map(|field| {
            if hex {
                decode_hex(field)
            } else {
                Ok(field.to_vec())
            }
        })
        .collect::<Result<Vec<Vec<u8>>, String>>()?;
    Ok(Message::from(frames))
}

/// Formats a message as one output line, newline included.
fn format_message(msg: &Message, hex: bool) -> String {
    let mut line = String::new();
    for (i, frame) in msg.iter().enumerate() {
        if i > 0 {
            line.push('\t');
        }
        if hex {
            line.push_str(&encode_hex(frame));
        } else {
            let text: Cow<'_, str> = String::from_utf8_lossy(frame);
            line.push_str(&text);
        }
    }
    line.push('\n');
    line
}

fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

pub(crate) fn decode_hex(text: &[u8]) -> Result<Vec<u8>, String> {
    if text.len() % 2 != 0 {
        return Err(format!(
            "invalid hex `{}`: odd number of digits",
            String::from_utf8_lossy(text)
        ));
    }
    text.chunks(2)
        .map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| format!("invalid hex `{}`", String::from_utf8_lossy(text)))
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Reads the next line from stdin without its trailing newline; `None` at EOF.
fn read_line(input: &mut impl BufRead) -> Result<Option<Vec<u8>>, Failure> {
    let mut line = Vec::new();
    let n = input
        .read_until(b'\n', &mut line)
        .map_err(|e| Failure::io("cannot read stdin", e))?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    Ok(Some(line))
}

/// Reads the next stdin line as a message; `None` at EOF.
pub(crate) fn read_message(
    input: &mut impl BufRead,
    hex: bool,
) -> Result<Option<Message>, Failure> {
    match read_line(input)? {
        None => Ok(None),
        Some(line) => parse_line(&line, hex)
            .map(Some)
            .map_err(|e| Failure::error(format!("bad input line: {e}"))),
    }
}

pub(crate) fn print_message(out: &mut impl Write, msg: &Message, hex: bool) -> Result<(), Failure> {
    out.write_all(format_message(msg, hex).as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::io("cannot write stdout", e))
}
