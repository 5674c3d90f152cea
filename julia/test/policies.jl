# DPRL.Policies (julia/src/policies.jl); included by runtests.jl.

@testset "policies round-trip weights" begin
    model = Policies.cartpole_policy()
    layers = Policies.weights(model)
    other = Policies.load_weights!(Policies.cartpole_policy(), layers)
    x = [0.1, 0.2, 0.3, 0.4]
    @test model(x) == other(x)
    @test_throws ArgumentError Policies.load_weights!(Policies.aimer_policy(), layers)
end
