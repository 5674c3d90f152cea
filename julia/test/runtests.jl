# The DPRL package's tests, one file a module like tests/ beside the Python package:
# `julia --project=ENV julia/test/runtests.jl`, or from Python (tests/test_julia.py) included into a
# fresh module. Everything sits in one "DPRL" testset, which throws at its end when a test fails.
using Test
using DPRL
using DPRL: Config, Trebuchet, CartPole, Pendulum, Policies, Train
using ForwardDiff
using Zygote
using Random

# Each module's tests, included into the module this file runs in: a bare `Module(...)` (as
# tests/test_julia.py makes) has no `include` of its own.
include_tests(file) = Base.include(@__MODULE__, joinpath(@__DIR__, file))

@testset "DPRL" begin
    Random.seed!(2019)  # the global stream (Flux's default initialisation draws from it): every draw seeded
    include_tests("trebuchet.jl")
    include_tests("cartpole.jl")
    include_tests("pendulum.jl")
    include_tests("policies.jl")
    include_tests("config.jl")
    include_tests("train/trebuchet.jl")
    include_tests("train/cartpole.jl")
    include_tests("train/pendulum.jl")
    include_tests("bridge.jl")
    include_tests("batched.jl")
    include_tests("modules.jl")
    include_tests("gradcheck.jl")
end
