//! The ONNX schema as far as chorus reads and writes it: field numbers of the protobuf messages
//! (from `onnx.proto`), element types, and the operators chorus adds in its own domain.
//!
//! Every rewrite names fields through these constants, never by bare number. Each constant is
//! the field of the same name in `onnx.proto`.

#![allow(missing_docs, reason = "each constant names the onnx.proto field of the same name")]

/// `ModelProto`.
pub mod model {
    pub const IR_VERSION: u64 = 1;
    pub const GRAPH: u64 = 7;
    pub const OPSET_IMPORT: u64 = 8;
}

/// `GraphProto`.
pub mod graph {
    pub const NODE: u64 = 1;
    pub const NAME: u64 = 2;
    pub const INITIALIZER: u64 = 5;
    pub const INPUT: u64 = 11;
    pub const OUTPUT: u64 = 12;
    pub const VALUE_INFO: u64 = 13;
    pub const SPARSE_INITIALIZER: u64 = 15;
}

/// `NodeProto`.
pub mod node {
    pub const INPUT: u64 = 1;
    pub const OUTPUT: u64 = 2;
    pub const NAME: u64 = 3;
    pub const OP_TYPE: u64 = 4;
    pub const ATTRIBUTE: u64 = 5;
    pub const DOMAIN: u64 = 7;
}

/// `AttributeProto`, and the values of its `type` field chorus writes.
pub mod attribute {
    pub const NAME: u64 = 1;
    pub const I: u64 = 3;
    pub const S: u64 = 4;
    pub const INTS: u64 = 8;
    pub const TYPE: u64 = 20;
    pub const TYPE_INT: u64 = 2;
    pub const TYPE_INTS: u64 = 7;
}

/// `TensorProto`, and `data_location`'s value for external data.
pub mod tensor {
    pub const DIMS: u64 = 1;
    pub const DATA_TYPE: u64 = 2;
    pub const FLOAT_DATA: u64 = 4;
    pub const INT32_DATA: u64 = 5;
    pub const NAME: u64 = 8;
    pub const RAW_DATA: u64 = 9;
    pub const EXTERNAL_DATA: u64 = 13;
    pub const DATA_LOCATION: u64 = 14;
    pub const LOCATION_EXTERNAL: u64 = 1;
}

/// `StringStringEntryProto` (a tensor's `external_data` entries).
pub mod entry {
    pub const KEY: u64 = 1;
    pub const VALUE: u64 = 2;
}

/// `ValueInfoProto`.
pub mod value_info {
    pub const NAME: u64 = 1;
    pub const TYPE: u64 = 2;
}

/// `TypeProto` and the messages inside it.
pub mod type_proto {
    /// `TypeProto.tensor_type`.
    pub const TENSOR_TYPE: u64 = 1;
    /// `TypeProto.Tensor.elem_type`.
    pub const ELEM_TYPE: u64 = 1;
    /// `TypeProto.Tensor.shape`.
    pub const SHAPE: u64 = 2;
    /// `TensorShapeProto.dim`.
    pub const DIM: u64 = 1;
    /// `TensorShapeProto.Dimension.dim_value`.
    pub const DIM_VALUE: u64 = 1;
    /// `TensorShapeProto.Dimension.dim_param`.
    pub const DIM_PARAM: u64 = 2;
}

/// `OperatorSetIdProto`.
pub mod opset {
    pub const DOMAIN: u64 = 1;
    pub const VERSION: u64 = 2;
}

/// `TensorProto.DataType`: the element types chorus meets.
pub mod elem {
    pub const FLOAT: u64 = 1;
    pub const UINT8: u64 = 2;
    pub const INT8: u64 = 3;
    pub const INT32: u64 = 6;
    pub const INT64: u64 = 7;
}

/// chorus's own operators in a derived graph; `chorus-kokoro-kernels` registers their kernels.
pub mod chorus {
    /// The operator domain of chorus's nodes.
    pub const DOMAIN: &str = "chorus";
    pub const SNAKE: &str = "Snake";
    pub const NORM_SNAKE: &str = "NormSnake";
    pub const IM2COL: &str = "Im2col";
    pub const REQUANTIZE: &str = "Requantize";
    pub const QCONV: &str = "QConv";
    pub const MOMENTS: &str = "Moments";
    pub const STFT: &str = "Stft";
}
