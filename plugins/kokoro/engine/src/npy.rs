//! Reading `.npz` voice packs: a zip of `.npy` arrays of little-endian f32, one per voice.
//!
//! Kokoro's `voices-v1.0.bin` and the `voices_ja.npz` of this project are both such archives;
//! each array is `[510, 1, 256]` (one 256-float style per phoneme count).

use std::io::{Read, Seek};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NpyError {
    #[error("not a zip archive of .npy arrays: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("reading {name}: {source}")]
    Io { name: String, source: std::io::Error },
    #[error("{name} is not an .npy array: {why}")]
    Format { name: String, why: String },
}

/// One array: its shape and its data in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Read every array of an npz archive, in archive order, as `(name without .npy, array)`.
pub fn read_npz<R: Read + Seek>(reader: R) -> Result<Vec<(String, Array)>, NpyError> {
    let mut zip = zip::ZipArchive::new(reader)?;
    let mut out = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let mut file = zip.by_index(i)?;
        let name = file.name().to_string();
        let Some(stem) = name.strip_suffix(".npy") else { continue };
        let mut bytes = Vec::with_capacity(file.size() as usize);
        file.read_to_end(&mut bytes).map_err(|source| NpyError::Io { name: name.clone(), source })?;
        let array = parse_npy(&bytes).map_err(|why| NpyError::Format { name: name.clone(), why })?;
        out.push((stem.rsplit('/').next().unwrap_or(stem).to_string(), array));
    }
    Ok(out)
}

/// Parse one `.npy` file holding little-endian f32 (`<f4`) in C order.
pub fn parse_npy(bytes: &[u8]) -> Result<Array, String> {
    let magic = b"\x93NUMPY";
    if bytes.len() < 10 || &bytes[..6] != magic {
        return Err("missing the \\x93NUMPY magic".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes.get(start..start + header_len).ok_or("truncated header")?;
    let header = std::str::from_utf8(header).map_err(|_| "header is not text")?;
    let descr = dict_value(header, "descr").ok_or("no descr in header")?;
    if !matches!(descr.trim_matches(|c| c == '\'' || c == '"'), "<f4" | "=f4") {
        return Err(format!("dtype {descr} is not little-endian float32"));
    }
    if dict_value(header, "fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err("Fortran-ordered arrays are not supported".into());
    }
    let shape_text = dict_value(header, "shape").ok_or("no shape in header")?;
    let shape = shape_text
        .trim_start_matches('(')
        .split([',', ')'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format!("bad shape {shape_text}")))
        .collect::<Result<Vec<_>, _>>()?;
    let count: usize = shape.iter().product();
    let body = &bytes[start + header_len..];
    if body.len() != count * 4 {
        return Err(format!("shape {shape:?} needs {} bytes of data, found {}", count * 4, body.len()));
    }
    let data = body.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Ok(Array { shape, data })
}

/// The raw text of `'key': value` in a Python dict literal (value up to the next top-level comma).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => {
                depth -= 1;
                if depth == 0 && rest.starts_with('(') {
                    return Some(&rest[..=i]);
                }
            }
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    None
}

/// Write arrays as an uncompressed npz (used by tests to make voice files).
pub fn write_npz<W: std::io::Write + Seek>(writer: W, arrays: &[(&str, &Array)]) -> Result<(), NpyError> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(writer);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, array) in arrays {
        let io = |source| NpyError::Io { name: name.to_string(), source };
        zip.start_file(format!("{name}.npy"), options)?;
        let dims: Vec<String> = array.shape.iter().map(|d| d.to_string()).collect();
        let shape = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
        let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        zip.write_all(b"\x93NUMPY\x01\x00").map_err(io)?;
        zip.write_all(&(header.len() as u16).to_le_bytes()).map_err(io)?;
        zip.write_all(header.as_bytes()).map_err(io)?;
        for v in &array.data {
            zip.write_all(&v.to_le_bytes()).map_err(io)?;
        }
    }
    zip.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_npz_round_trips() {
        let a = Array { shape: vec![2, 1, 3], data: vec![1.0, 2.0, 3.0, 4.0, 5.0, -6.5] };
        let mut buf = std::io::Cursor::new(Vec::new());
        write_npz(&mut buf, &[("af_test", &a)]).unwrap();
        buf.set_position(0);
        assert_eq!(read_npz(buf).unwrap(), vec![("af_test".to_string(), a)]);
    }

    #[test]
    fn a_wrong_dtype_is_refused_with_its_name() {
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n";
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.extend([0u8; 8]);
        assert!(parse_npy(&bytes).unwrap_err().contains("<f8"));
    }

    #[test]
    fn garbage_is_not_a_zip() {
        assert!(matches!(read_npz(std::io::Cursor::new(b"nonsense".to_vec())), Err(NpyError::Zip(_))));
    }
}
