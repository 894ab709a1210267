//! The protobuf wire format, as far as ONNX files need it: reading a message's fields (numbers
//! from [`crate::schema`]), and writing fields. Unknown fields are copied as they were, so an
//! edit never loses what it does not understand.

use crate::GraphError;
use crate::schema::{attribute, elem, model as model_field, node as node_field, tensor as tensor_field};

/// A field of a protobuf message: its number, and its payload when length-delimited (or its
/// value when a varint).
pub struct Field<'a> {
    pub number: u64,
    /// The whole field as encoded (tag included), to copy it unchanged.
    pub raw: &'a [u8],
    pub payload: Option<&'a [u8]>,
    pub value: u64,
}

pub fn read_varint(buf: &[u8], at: &mut usize) -> Result<u64, GraphError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*at).ok_or(GraphError::Malformed("truncated varint"))?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(GraphError::Malformed("varint too long"))
}

pub fn fields(buf: &[u8]) -> Result<Vec<Field<'_>>, GraphError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let start = at;
        let tag = read_varint(buf, &mut at)?;
        let mut value = 0;
        let payload = match tag & 7 {
            0 => {
                value = read_varint(buf, &mut at)?;
                None
            }
            1 => {
                at += 8;
                None
            }
            5 => {
                at += 4;
                None
            }
            2 => {
                let len = usize::try_from(read_varint(buf, &mut at)?)
                    .map_err(|_| GraphError::Malformed("length overflow"))?;
                let end =
                    at.checked_add(len).filter(|&e| e <= buf.len()).ok_or(GraphError::Malformed("truncated field"))?;
                let p = &buf[at..end];
                at = end;
                Some(p)
            }
            w => return Err(GraphError::WireType(w)),
        };
        if at > buf.len() {
            return Err(GraphError::Malformed("truncated field"));
        }
        out.push(Field { number: tag >> 3, raw: &buf[start..at], payload, value });
    }
    Ok(out)
}

/// The strings in field `number` of a message.
pub fn strings(message: &[u8], number: u64) -> Result<Vec<&str>, GraphError> {
    fields(message)?
        .into_iter()
        .filter(|f| f.number == number)
        .map(|f| std::str::from_utf8(f.payload.unwrap_or_default()).map_err(|_| GraphError::NotUtf8))
        .collect()
}

/// The last string in field `number` of a message (empty if none).
pub fn name_of(message: &[u8], number: u64) -> Result<String, GraphError> {
    Ok(strings(message, number)?.pop().unwrap_or_default().to_string())
}

pub fn varint(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

pub fn varint_field(field: u64, value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(field << 3, &mut out);
    varint(value, &mut out);
    out
}

pub fn bytes_field(field: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint((field << 3) | 2, &mut out);
    varint(payload.len() as u64, &mut out);
    out.extend_from_slice(payload);
    out
}

/// A `ModelProto`'s graph. Several `graph` fields (a model with appended outputs) merge:
/// their payloads concatenate.
pub fn graph(model: &[u8]) -> Result<Vec<u8>, GraphError> {
    let graph: Vec<u8> = fields(model)?
        .iter()
        .filter(|f| f.number == model_field::GRAPH)
        .flat_map(|f| f.payload.unwrap_or_default())
        .copied()
        .collect();
    if graph.is_empty() {
        return Err(GraphError::NoGraph);
    }
    Ok(graph)
}

/// `model` with its graph replaced by `graph`, every other field as it was.
pub fn with_graph(model: &[u8], graph: &[u8]) -> Result<Vec<u8>, GraphError> {
    let mut out = Vec::with_capacity(graph.len() + 64);
    for f in fields(model)?.iter().filter(|f| f.number != model_field::GRAPH) {
        out.extend_from_slice(f.raw);
    }
    out.extend(bytes_field(model_field::GRAPH, graph));
    Ok(out)
}

/// The integers of a repeated varint field, packed or not.
pub fn varints(fs: &[Field], number: u64) -> Result<Vec<u64>, GraphError> {
    let mut out = Vec::new();
    for f in fs.iter().filter(|f| f.number == number) {
        match f.payload {
            Some(packed) => {
                let mut at = 0;
                while at < packed.len() {
                    out.push(read_varint(packed, &mut at)?);
                }
            }
            None => out.push(f.value),
        }
    }
    Ok(out)
}

/// An attribute's integer (`i`) or integers (`ints`).
pub fn ints(message: &[u8]) -> Result<Vec<i64>, GraphError> {
    let fs = fields(message)?;
    let mut out: Vec<i64> = varints(&fs, attribute::INTS)?.into_iter().map(|v| v as i64).collect();
    out.extend(fs.iter().filter(|f| f.number == attribute::I).map(|f| f.value as i64));
    Ok(out)
}

/// A `NodeProto` named after its first output; `domain` empty for ONNX's own operators.
pub fn node(op: &str, inputs: &[&str], outputs: &[&str], attributes: &[Vec<u8>], domain: &str) -> Vec<u8> {
    let mut n = Vec::new();
    for i in inputs {
        n.extend(bytes_field(node_field::INPUT, i.as_bytes()));
    }
    for o in outputs {
        n.extend(bytes_field(node_field::OUTPUT, o.as_bytes()));
    }
    n.extend(bytes_field(node_field::NAME, format!("{}/{op}", outputs[0]).as_bytes()));
    n.extend(bytes_field(node_field::OP_TYPE, op.as_bytes()));
    for a in attributes {
        n.extend(bytes_field(node_field::ATTRIBUTE, a));
    }
    if !domain.is_empty() {
        n.extend(bytes_field(node_field::DOMAIN, domain.as_bytes()));
    }
    n
}

/// An `AttributeProto` of type INT.
pub fn int_attr(name: &str, value: i64) -> Vec<u8> {
    let mut a = bytes_field(attribute::NAME, name.as_bytes());
    a.extend(varint_field(attribute::I, value as u64));
    a.extend(varint_field(attribute::TYPE, attribute::TYPE_INT));
    a
}

/// An `AttributeProto` of type INTS.
pub fn ints_attr(name: &str, values: &[i64]) -> Vec<u8> {
    let mut a = bytes_field(attribute::NAME, name.as_bytes());
    for v in values {
        a.extend(varint_field(attribute::INTS, *v as u64));
    }
    a.extend(varint_field(attribute::TYPE, attribute::TYPE_INTS));
    a
}

/// A `TensorProto` holding `raw` as `raw_data`.
pub fn tensor(name: &str, dims: &[i64], data_type: u64, raw: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    for d in dims {
        t.extend(varint_field(tensor_field::DIMS, *d as u64));
    }
    t.extend(varint_field(tensor_field::DATA_TYPE, data_type));
    t.extend(bytes_field(tensor_field::NAME, name.as_bytes()));
    t.extend(bytes_field(tensor_field::RAW_DATA, raw));
    t
}

/// A stored tensor's element type (0 when it has none).
pub fn data_type(fs: &[Field]) -> u64 {
    fs.iter().find(|f| f.number == tensor_field::DATA_TYPE).map_or(0, |f| f.value)
}

/// A stored tensor of element type `elem`: its dims and values, or `None` for another type.
pub fn stored_as(tensor: &[u8], elem: u64) -> Result<Option<(Vec<u64>, Stored)>, GraphError> {
    let fs = fields(tensor)?;
    if data_type(&fs) != elem {
        return Ok(None);
    }
    stored(&fs).map(Some)
}

/// A stored tensor's dims and `raw_data` bytes, or its `typed` field's values (`float_data`,
/// `int32_data`) when it has no raw data: packed bytes of 4-byte floats, or integers.
pub fn stored(fs: &[Field]) -> Result<(Vec<u64>, Stored), GraphError> {
    let dims = varints(fs, tensor_field::DIMS)?;
    let data = match fs.iter().find(|f| f.number == tensor_field::RAW_DATA) {
        Some(raw) => Stored::Raw(raw.payload.unwrap_or_default().to_vec()),
        None if data_type(fs) == elem::FLOAT => Stored::Raw(
            fs.iter()
                .filter(|f| f.number == tensor_field::FLOAT_DATA)
                .flat_map(|f| f.payload.unwrap_or_default())
                .copied()
                .collect(),
        ),
        None => Stored::Ints(varints(fs, tensor_field::INT32_DATA)?),
    };
    Ok((dims, data))
}

/// A stored tensor's values as found.
pub enum Stored {
    /// Little-endian bytes (`raw_data`, or packed `float_data`).
    Raw(Vec<u8>),
    /// `int32_data`'s values (also holds small integer types).
    Ints(Vec<u64>),
}

/// Small graphs for the rewrites' tests.
#[cfg(test)]
pub mod build {
    use super::{bytes_field, node, varint_field};
    use crate::schema::{graph, model as model_field};

    /// A graph's `node` field: ONNX operator `op`, one output.
    pub fn op(op: &str, inputs: &[&str], output: &str, attributes: &[Vec<u8>]) -> Vec<u8> {
        bytes_field(graph::NODE, &node(op, inputs, &[output], attributes, ""))
    }

    /// A model (IR version 8) holding `graph`.
    pub fn model(graph: &[u8]) -> Vec<u8> {
        let mut m = varint_field(model_field::IR_VERSION, 8);
        m.extend(bytes_field(model_field::GRAPH, graph));
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_use_seven_bit_groups() {
        let mut out = Vec::new();
        varint(300, &mut out);
        assert_eq!(out, vec![0xac, 0x02]);
    }
}
