#!/usr/bin/env python3
"""Compiles the device kernels with NVRTC for Hopper (sm_90) and older targets, without a GPU.

usage: check_kernels.py KERNELS.cu LIBNVRTC.so
Prints each target's result and exits 1 with NVRTC's log when a compilation fails.
"""
import ctypes
import sys


def compile_for(nvrtc, source, arch):
    program = ctypes.c_void_p()
    check(nvrtc, nvrtc.nvrtcCreateProgram(ctypes.byref(program), source, b"kernels.cu", 0, None, None))
    options = [b"--gpu-architecture=" + arch.encode(), b"--std=c++17"]
    argv = (ctypes.c_char_p * len(options))(*options)
    result = nvrtc.nvrtcCompileProgram(program, len(options), argv)
    size = ctypes.c_size_t()
    nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetProgramLog(program, log)
    code = ctypes.c_size_t()
    if result == 0:
        nvrtc.nvrtcGetCUBINSize(program, ctypes.byref(code))
    nvrtc.nvrtcDestroyProgram(ctypes.byref(program))
    return result, log.value.decode(errors="replace"), code.value


def check(nvrtc, result):
    if result != 0:
        nvrtc.nvrtcGetErrorString.restype = ctypes.c_char_p
        raise SystemExit("NVRTC: " + nvrtc.nvrtcGetErrorString(result).decode())


def main():
    source = open(sys.argv[1], "rb").read()
    nvrtc = ctypes.CDLL(sys.argv[2])
    failed = False
    for arch in ["sm_90", "sm_80", "sm_100"]:
        result, log, size = compile_for(nvrtc, source, arch)
        if result == 0:
            print(f"kernels compile for {arch}: {size} bytes of machine code")
            if log.strip():
                print(log)
        else:
            failed = True
            print(f"kernels do not compile for {arch}:\n{log}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
