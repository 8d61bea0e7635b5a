import cProfile, os
from bench.bench_app import application as inner
prof = cProfile.Profile()
count = 0
def application(environ, start_response):
    global count
    if environ.get("PATH_INFO") != "/inscription" or environ.get("REQUEST_METHOD") != "POST":
        return inner(environ, start_response)
    prof.enable()
    try:
        return list(inner(environ, start_response))
    finally:
        prof.disable()
        count += 1
        if count % 200 == 0:
            prof.dump_stats(f"/tmp/gprof/{os.getpid()}.prof")
