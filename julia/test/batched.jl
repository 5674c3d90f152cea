# DPRL.Batched (julia/src/batched.jl, the bridge's batched calls); included by runtests.jl.

@testset "batched: the same rows as one at a time" begin
    points = [-2.0 45.0 200.0; 3.0 40.0 180.0; 0.0 45.0 8.0; 0.0 45.0 15.38]
    distance, status, liftoff, release, landing, speed = DPRL.Batched.launch(points)
    d, s, g = DPRL.Batched.launch_gradient(points)
    for i in axes(points, 1)
        one = Trebuchet.launch(points[i, :]...)
        @test isequal((distance[i], status[i], liftoff[i], release[i], landing[i], speed[i]), Tuple(one))
        values, gradient = Trebuchet.launch_gradient(points[i, :]...)
        @test isequal(d[i], one.distance) && s[i] == one.status && isequal(Tuple(g[i, :]), gradient)
    end
    @test_throws ArgumentError DPRL.Batched.launch([0.0 95.0 200.0])
    states, actions = [0.01 -0.02 0.03 0.04; 0.0 0.0 0.3 0.0], [1.0, -1.0]
    next, rewards, dones = DPRL.Batched.cartpole_step(states, actions)
    @test next[1, :] == CartPole.step(CartPole.CartPoleParams(), states[1, :], 1.0)[1] && dones == [false, true]
    next, rewards, _ = DPRL.Batched.pendulum_step([0.5 1.0], [5.0]; variant = "gymjl2019")
    @test (next[1, :], rewards[1]) == Pendulum.step([0.5, 1.0], 5.0; variant = "gymjl2019")[1:2]
end
