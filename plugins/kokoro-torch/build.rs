//! Records libtorch's folder in the plugin's run path, so the cdylib loads the libtorch it was built
//! against (`$LIBTORCH/lib`, the torch wheel's libraries, which find their CUDA wheels themselves).

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    match std::env::var("LIBTORCH") {
        Ok(dir) => println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}/lib"),
        Err(_) => println!("cargo:warning=LIBTORCH is not set: the plugin will look for libtorch on the loader's path"),
    }
}
