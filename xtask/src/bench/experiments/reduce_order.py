"""Which order ONNX Runtime's ReduceMean adds a row in (session 17): candidate orders of Eigen's
vectorized sum (packets of 4, 8 or 16 floats; aligned from the row's address or from its start)
emulated op by op in float32, against the runtime on rows of several lengths. The one that
matches every row (4-float packets aligned from the address) is what `Moments` reproduces
(plugins/kokoro/kernels/src/moments.rs). usage (evaluation venv): reduce_order.py
"""
import onnx, numpy as np, onnxruntime as ort
from onnx import helper as h, TensorProto as TP, numpy_helper as nh
f32=np.float32
def sess(m):
    o=ort.SessionOptions(); o.intra_op_num_threads=2; o.graph_optimization_level=ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(m.SerializeToString(),o,providers=["CPUExecutionProvider"])
def model(C,T):
    g=h.make_graph([h.make_node("Mul",["x","one"],["xa"]),h.make_node("ReduceMean",["xa","ax"],["m"],keepdims=1)],"g",
      [h.make_tensor_value_info("x",TP.FLOAT,[1,C,T])],[h.make_tensor_value_info("m",TP.FLOAT,None)],
      [nh.from_array(np.array([2],np.int64),"ax"), nh.from_array(np.array(1,f32),"one")])
    return h.make_model(g,opset_imports=[h.make_opsetid("",18)],ir_version=9)
def eigen_sum(v, P, start):
    # Eigen redux LinearVectorized: alignedStart=start
    n=len(v); 
    if start>n: start=n
    asz2=((n-start)//(2*P))*(2*P); asz=((n-start)//P)*P
    e2=start+asz2; e=start+asz
    if asz==0:
        r=f32(v[0])
        for i in range(1,n): r=f32(r+v[i])
        return r
    p0=v[start:start+P].astype(f32).copy()
    if asz>P:
        p1=v[start+P:start+2*P].astype(f32).copy()
        for i in range(start+2*P,e2,2*P):
            p0=(p0+v[i:i+P]).astype(f32); p1=(p1+v[i+P:i+2*P]).astype(f32)
        p0=(p0+p1).astype(f32)
        if e>e2: p0=(p0+v[e2:e2+P]).astype(f32)
    # predux: halving tree
    while len(p0)>1:
        hlf=len(p0)//2
        if len(p0)==4:  # SSE: (a0+a2)+(a1+a3)
            t=(p0[:2]+p0[2:]).astype(f32); r=f32(t[0]+t[1]); p0=np.array([r],f32); break
        p0=(p0[:hlf]+p0[hlf:]).astype(f32)
    r=p0[0]
    for i in range(0,start): r=f32(r+v[i])
    for i in range(e,n): r=f32(r+v[i])
    return r
rng=np.random.default_rng(1)
for C,T in [(8,1001),(8,4096),(16,12003),(4,777),(6,35)]:
    x=(rng.standard_normal((1,C,T))*3).astype(f32)
    m=sess(model(C,T)).run(None,{"x":x})[0].reshape(C)
    for P in [4,8,16]:
        for mode in ["addr","zero"]:
            ok=0
            for c in range(C):
                off=(c*T)%P if mode=="addr" else 0
                start=(P-off)%P
                s=eigen_sum(x[0,c],P,start)
                ok+= (f32(s/f32(T))==m[c])
            print(C,T,P,mode,ok,"/",C)
