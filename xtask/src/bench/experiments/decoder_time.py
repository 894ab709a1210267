"""Time decoder graphs on one sentence's features (from the plugin's derived front file) and give
each one's audio SNR against the first's. usage (evaluation venv): decoder_time.py TEXT DECODER.onnx ...
(env THREADS, default 2; N runs, default 3)
"""
import onnxruntime as ort, numpy as np, time, os, sys, onnx
from kokoro_onnx.tokenizer import Tokenizer
D=os.path.expanduser("~/.local/share/chorus/kokoro/derived/")
front_p=D+next(f for f in os.listdir(D) if f.endswith(".front.onnx"))
tk=Tokenizer()
V=np.load(os.path.expanduser("~/.local/share/chorus/kokoro/voices_ja.npz"))["jf_alpha"]
text=sys.argv[1]
ids=tk.tokenize(tk.phonemize(text, "en-us")); T=len(ids)
def sess(p, threads=2):
    o=ort.SessionOptions(); o.intra_op_num_threads=threads
    o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(p, o, providers=["CPUExecutionProvider"])
fr=sess(front_p)
style=V[T].reshape(1,256).astype(np.float32)
outs=fr.run(None,{"tokens":np.array([[0,*ids,0]],dtype=np.int64),"style":style,"speed":np.ones(1,dtype=np.float32)})
names=[o.name for o in fr.get_outputs()]
feed=dict(zip(names,outs)); feed.pop("/encoder/Cast_output_0", None)
threads=int(os.environ.get("THREADS","2"))
res={}
for p in sys.argv[2:]:
    s=sess(p,threads); f={i.name:feed[i.name] if i.name!="style" else style for i in s.get_inputs()}
    a=s.run(None,f)[0]; ts=[]
    for _ in range(int(os.environ.get("N","3"))):
        t=time.time(); a=s.run(None,f)[0]; ts.append(time.time()-t)
    res[p]=a.reshape(-1); print(os.path.basename(p), f"min {min(ts):.3f}s median {sorted(ts)[len(ts)//2]:.3f}s audio {a.size/24000:.2f}s", flush=True)
ref=res[sys.argv[2]]
for p,a in res.items():
    n=min(len(a),len(ref)); err=ref[:n]-a[:n]
    print(os.path.basename(p), "SNR dB %.1f"%(10*np.log10((ref[:n]**2).sum()/max((err**2).sum(),1e-20))))
