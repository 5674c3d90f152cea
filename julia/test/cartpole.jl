# DPRL.CartPole (julia/src/cartpole.jl); included by runtests.jl.

@testset "cartpole" begin
    params = CartPole.CartPoleParams()
    state = [0.01, -0.02, 0.03, 0.04]
    next_state, reward, done = CartPole.step(params, state, 1.0)
    @test reward == 1.0 && !done
    @test next_state[1] ≈ 0.01 + 0.02 * -0.02  # positions move with the old velocities
    @test CartPole.is_done(params, [2.5, 0.0, 0.0, 0.0])
    @test CartPole.is_done(params, [0.0, 0.0, -0.21, 0.0])
    g = Zygote.gradient(a -> CartPole.step(params, state, a)[1][4], 1.0)[1]
    @test g ≈ ForwardDiff.derivative(a -> CartPole.step(params, state, a)[1][4], 1.0)
end
