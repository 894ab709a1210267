//! What can go wrong rewriting a graph, said so the caller can tell the user what to do.

/// A graph that cannot be read or rewritten as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// The bytes are not a protobuf message (a truncated or damaged file).
    #[error("the file is not a valid ONNX model ({0}); it may be truncated or damaged")]
    Malformed(&'static str),
    /// A protobuf wire type ONNX never uses.
    #[error("the file is not a valid ONNX model (wire type {0})")]
    WireType(u64),
    /// A name or string field that is not UTF-8.
    #[error("the file is not a valid ONNX model (a name is not UTF-8)")]
    NotUtf8,
    /// The model has no `graph`.
    #[error("the file holds no graph")]
    NoGraph,
    /// The cut asked for goes through the middle of a node.
    #[error("cannot cut the graph at {cut}: its node also makes {other} (not a Kokoro v1.0 export?)")]
    CutInsideNode {
        /// The tensor the cut was asked at.
        cut: String,
        /// Another output of the node that makes it.
        other: String,
    },
    /// An input of the cut is not read by what the cut computes.
    #[error("the graph does not read {0} where it is cut (not a Kokoro v1.0 export?)")]
    UnusedInput(String),
    /// A value the cut needs comes from nowhere.
    #[error("{0} is needed but neither made by a node, stored, nor an input (not a Kokoro v1.0 export?)")]
    Unreachable(String),
    /// A boundary tensor with no declared type and none given.
    #[error("{0} is not an input or output of the model (not a Kokoro v1.0 export?)")]
    Undeclared(String),
}
