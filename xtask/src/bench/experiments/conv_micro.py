"""Micro-benchmark (session 5): one of the decoder's largest convolutions (128 channels, 11 taps,
21601 steps) as ConvInteger with uint8 weights, against im2col (Transpose, Pad, a Slice per tap,
Concat) and MatMulInteger with int8 weights, and MatMulInteger alone with int8 and with uint8 weights
(session 15); checks they agree.
Results in docs/BENCHMARKS.md. usage (evaluation venv): conv_micro.py [DILATION]
"""
import onnx, numpy as np, onnxruntime as ort, time
from onnx import helper as h, TensorProto as TP, numpy_helper as nh
C,K,L,dil=128,11,21601,int(__import__('sys').argv[1]) if len(__import__('sys').argv)>1 else 1
rng=np.random.default_rng(0)
W=rng.integers(0,256,(C,C,K),dtype=np.uint8); wzp=np.uint8(60)
x=rng.integers(0,256,(1,C,L),dtype=np.uint8); xzp=np.array(127,np.uint8)
pad=dil*(K-1)//2
def sess(m):
    o=ort.SessionOptions(); o.intra_op_num_threads=2; o.add_session_config_entry("session.intra_op.allow_spinning","0")
    return ort.InferenceSession(m.SerializeToString(),o,providers=["CPUExecutionProvider"])
def tm(s,f,n=5):
    s.run(None,f); t=[]
    for _ in range(n): a=time.time(); r=s.run(None,f)[0]; t.append(time.time()-a)
    return min(t), r
# 1 ConvInteger
g=h.make_graph([h.make_node("ConvInteger",["x","w","xzp","wzp"],["y"],pads=[pad,pad],dilations=[dil],kernel_shape=[K])],"g",
 [h.make_tensor_value_info("x",TP.UINT8,[1,C,L]),h.make_tensor_value_info("xzp",TP.UINT8,[])],[h.make_tensor_value_info("y",TP.INT32,None)],
 [nh.from_array(W,"w"),nh.from_array(np.array(wzp),"wzp")])
m=h.make_model(g,opset_imports=[h.make_opsetid("",17)],ir_version=9)
t1,r1=tm(sess(m),{"x":x,"xzp":xzp}); print("ConvInteger u8u8",t1)
# 2 im2col + MatMulInteger s8
Ws=(W.astype(np.int16)-128).astype(np.int8); wzps=np.int8(int(wzp)-128)
Wcol=np.ascontiguousarray(Ws.transpose(2,1,0).reshape(K*C,C))  # [k*C+c, o]
nodes=[h.make_node("Transpose",["x"],["xt"],perm=[0,2,1]),  # [1,L,C]
 h.make_node("Pad",["xt","pads","xzp"],["xp"],mode="constant")]
outs=[]
for i in range(K):
    nodes.append(h.make_node("Slice",["xp",f"s{i}",f"e{i}","ax1"],[f"sl{i}"])); outs.append(f"sl{i}")
nodes.append(h.make_node("Concat",outs,["col"],axis=2))   # [1,L,K*C]
nodes.append(h.make_node("MatMulInteger",["col","wcol","xzp","wzps"],["yt"]))  # [1,L,C]
nodes.append(h.make_node("Transpose",["yt"],["y"],perm=[0,2,1]))
inits=[nh.from_array(Wcol,"wcol"),nh.from_array(np.array(wzps),"wzps"),nh.from_array(np.array([0,pad,0,0,pad,0],np.int64),"pads"),nh.from_array(np.array([1],np.int64),"ax1")]
for i in range(K):
    inits+= [nh.from_array(np.array([i*dil],np.int64),f"s{i}"),nh.from_array(np.array([i*dil+L],np.int64),f"e{i}")]
g=h.make_graph(nodes,"g",[h.make_tensor_value_info("x",TP.UINT8,[1,C,L]),h.make_tensor_value_info("xzp",TP.UINT8,[])],[h.make_tensor_value_info("y",TP.INT32,None)],inits)
m=h.make_model(g,opset_imports=[h.make_opsetid("",17)],ir_version=9)
t2,r2=tm(sess(m),{"x":x,"xzp":xzp}); print("im2col+MatMulInteger u8s8",t2, "equal", np.array_equal(r1,r2))
# 3 MatMulInteger alone on prebuilt col
col=np.ascontiguousarray(np.concatenate([np.pad(x[0].T,((pad,pad),(0,0)),constant_values=127)[i*dil:i*dil+L] for i in range(K)],axis=1))[None]
g=h.make_graph([h.make_node("MatMulInteger",["col","wcol","xzp","wzps"],["y"])],"g",[h.make_tensor_value_info("col",TP.UINT8,[1,L,K*C]),h.make_tensor_value_info("xzp",TP.UINT8,[])],[h.make_tensor_value_info("y",TP.INT32,None)],inits[:2])
t3,_=tm(sess(h.make_model(g,opset_imports=[h.make_opsetid("",17)],ir_version=9)),{"col":col,"xzp":xzp}); print("MatMulInteger only",t3)
# 3b the same with the uint8 weights as they are (u8×u8: no VNNI kernel, but no saturation either)
Wcolu=np.ascontiguousarray(W.transpose(2,1,0).reshape(K*C,C))
g=h.make_graph([h.make_node("MatMulInteger",["col","wcolu","xzp","wzp"],["y"])],"g",[h.make_tensor_value_info("col",TP.UINT8,[1,L,K*C]),h.make_tensor_value_info("xzp",TP.UINT8,[])],[h.make_tensor_value_info("y",TP.INT32,None)],[nh.from_array(Wcolu,"wcolu"),nh.from_array(np.array(wzp),"wzp")])
t3b,r3b=tm(sess(h.make_model(g,opset_imports=[h.make_opsetid("",17)],ir_version=9)),{"col":col,"xzp":xzp}); print("MatMulInteger only, u8 weights",t3b, np.array_equal(r1,r3b[0].T[None]))
# variant B: slices on [1,C,L] concat axis1, one transpose of col
nodes=[h.make_node("Pad",["x","padsB","xzp"],["xp"],mode="constant")]
outs=[]
for i in range(K):
    nodes.append(h.make_node("Slice",["xp",f"s{i}",f"e{i}","ax2"],[f"sl{i}"])); outs.append(f"sl{i}")
nodes.append(h.make_node("Concat",outs,["colT"],axis=1))
nodes.append(h.make_node("Transpose",["colT"],["col"],perm=[0,2,1]))
nodes.append(h.make_node("MatMulInteger",["col","wcol","xzp","wzps"],["yt"]))
nodes.append(h.make_node("Transpose",["yt"],["y"],perm=[0,2,1]))
initsB=inits+[nh.from_array(np.array([0,0,pad,0,0,pad],np.int64),"padsB"),nh.from_array(np.array([2],np.int64),"ax2")]
g=h.make_graph(nodes,"g",[h.make_tensor_value_info("x",TP.UINT8,[1,C,L]),h.make_tensor_value_info("xzp",TP.UINT8,[])],[h.make_tensor_value_info("y",TP.INT32,None)],initsB)
t4,r4=tm(sess(h.make_model(g,opset_imports=[h.make_opsetid("",17)],ir_version=9)),{"x":x,"xzp":xzp}); print("B: concat axis1 + transpose",t4, np.array_equal(r1,r4))
# pieces: transpose u8 [1,C,L]; transpose int32 [1,L,C]
for dt,shape,name in [(TP.UINT8,[1,C,L],"T u8 C,L"),(TP.INT32,[1,L,C],"T i32 L,C"),(TP.UINT8,[1,K*C,L],"T u8 KC,L")]:
    g=h.make_graph([h.make_node("Transpose",["x"],["y"],perm=[0,2,1])],"g",[h.make_tensor_value_info("x",dt,shape)],[h.make_tensor_value_info("y",dt,None)])
    arr=np.zeros(shape,{TP.UINT8:np.uint8,TP.INT32:np.int32}[dt])
    print(name, tm(sess(h.make_model(g,opset_imports=[h.make_opsetid("",17)],ir_version=9)),{"x":arr})[0])
