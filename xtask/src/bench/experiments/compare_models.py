"""Time ONNX models on one dev sentence (2 threads, no spinning) and give each one's audio SNR
against the first model's. usage: compare_models.py REFERENCE.onnx OTHER.onnx ...
"""
import onnxruntime as ort, numpy as np, time, os, sys
from kokoro_onnx.tokenizer import Tokenizer
tk=Tokenizer()
V=np.load(os.path.expanduser("~/.local/share/chorus/kokoro/voices_ja.npz"))["jf_alpha"]
ph=tk.phonemize("Please remind me to buy milk, eggs, and bread on the way home.", "en-us")
ids=tk.tokenize(ph); T=len(ids)
f={"tokens":np.array([[0,*ids,0]],dtype=np.int64),"style":V[T].reshape(1,256).astype(np.float32),"speed":np.ones(1,dtype=np.float32)}
outs={}
for path in sys.argv[1:]:
    o=ort.SessionOptions(); o.intra_op_num_threads=2
    o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    s=ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    a=s.run(["audio"],f)[0]; t=time.time()
    for _ in range(3): a=s.run(["audio"],f)[0]
    outs[path]=a.reshape(-1)
    print(os.path.basename(path), f"{(time.time()-t)/3:.3f}s per run, audio {a.size/24000:.2f}s")
ref=outs[sys.argv[1]]
for p,a in outs.items():
    n=min(len(a),len(ref)); err=ref[:n]-a[:n]
    print(os.path.basename(p), "len", len(a), "SNR dB", 10*np.log10((ref[:n]**2).sum()/max((err**2).sum(),1e-20)))
