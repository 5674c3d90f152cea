# DPRL.Pendulum (julia/src/pendulum.jl); included by runtests.jl.

@testset "pendulum variants" begin
    state = [0.5, 1.0]
    gym, r_gym, _ = Pendulum.step(state, 5.0; variant = "gymnasium")
    old, r_old, _ = Pendulum.step(state, 5.0; variant = "gymjl2019")
    @test r_gym ≈ -(0.5^2 + 0.1 * 1.0 + 0.001 * 4.0)  # torque clipped to 2 in the cost
    @test r_old ≈ -(0.5^2 + 0.1 * 1.0 + 0.001 * 25.0)  # raw torque in the cost
    @test gym[2] < old[2] || gym[2] == 8.0
    @test Pendulum.angle_normalize(3pi / 2) ≈ -pi / 2
    @test Zygote.gradient(Pendulum.angle_normalize, 3pi / 2)[1] ≈ 1.0
    @test_throws ArgumentError Pendulum.step(state, 0.0; variant = "nope")
end
