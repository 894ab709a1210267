"""Micro-benchmark (session 15): one of the decoder's largest convolutions (128 channels, 11 taps,
21601 steps) as ConvInteger (uint8 weights) against MatMulInteger on a prebuilt im2col with uint8
weights and with int8 weights (shifted by 128); checks all three give the same integers.
On a CPU without VNNI, MLAS's u8×s8 kernel may saturate; the u8×u8 one does not.
Results in docs/BENCHMARKS.md ("Session 15"). usage (evaluation venv): product_kinds.py
"""
import onnx, numpy as np, onnxruntime as ort, time, sys
from onnx import helper as h, TensorProto as TP, numpy_helper as nh
C,K,L,dil=128,11,21601,1
rng=np.random.default_rng(0)
W=rng.integers(0,256,(C,C,K),dtype=np.uint8); wzp=np.uint8(60)
x=rng.integers(0,256,(1,C,L),dtype=np.uint8); xzp=np.array(127,np.uint8)
pad=dil*(K-1)//2
def sess(m):
    o=ort.SessionOptions(); o.intra_op_num_threads=2; o.add_session_config_entry("session.intra_op.allow_spinning","0")
    return ort.InferenceSession(m.SerializeToString(),o,providers=["CPUExecutionProvider"])
def tm(s,f,n=7):
    s.run(None,f); t=[]
    for _ in range(n): a=time.time(); r=s.run(None,f)[0]; t.append(time.time()-a)
    return min(t), r
mk=lambda g: h.make_model(g,opset_imports=[h.make_opsetid("",17)],ir_version=9)
g=h.make_graph([h.make_node("ConvInteger",["x","w","xzp","wzp"],["y"],pads=[pad,pad],dilations=[dil],kernel_shape=[K])],"g",
 [h.make_tensor_value_info("x",TP.UINT8,[1,C,L]),h.make_tensor_value_info("xzp",TP.UINT8,[])],[h.make_tensor_value_info("y",TP.INT32,None)],
 [nh.from_array(W,"w"),nh.from_array(np.array(wzp),"wzp")])
t1,r1=tm(sess(mk(g)),{"x":x,"xzp":xzp}); print("ConvInteger u8u8",t1)
col=np.ascontiguousarray(np.concatenate([np.pad(x[0].T,((pad,pad),(0,0)),constant_values=127)[i*dil:i*dil+L] for i in range(K)],axis=1))[None]
for name,Wc,wz,tp in [("u8s8",(W.astype(np.int16)-128).astype(np.int8),np.int8(int(wzp)-128),TP.INT8),("u8u8",W,wzp,TP.UINT8)]:
    Wcol=np.ascontiguousarray(Wc.transpose(2,1,0).reshape(K*C,C))
    g=h.make_graph([h.make_node("MatMulInteger",["col","wcol","xzp","wz"],["y"])],"g",[h.make_tensor_value_info("col",TP.UINT8,[1,L,K*C]),h.make_tensor_value_info("xzp",TP.UINT8,[])],[h.make_tensor_value_info("y",TP.INT32,None)],[nh.from_array(Wcol,"wcol"),nh.from_array(np.array(wz),"wz")])
    t,r=tm(sess(mk(g)),{"col":col,"xzp":xzp}); print("MatMulInteger",name,t,"equal to ConvInteger",np.array_equal(r[0].T,r1[0]))
