# DPRL.Modules (julia/src/modules.jl, Julia models inside torch.nn.Module); included by runtests.jl.
using Flux

@testset "modules: parameters by key path, pullbacks to model and input, modes" begin
    model = Policies.cartpole_policy()
    found = DPRL.Modules.parameters(model)
    @test found.names == ["layers.1.weight", "layers.1.bias", "layers.2.weight", "layers.2.bias", "layers.3.weight", "layers.3.bias"]
    @test found.arrays[3] === model.layers[2].weight && found.eltype == "Float64"  # the model's own arrays: shared, not copied
    @test DPRL.Modules.input_width(model) == 4 && DPRL.Modules.input_width(sin) === nothing
    # Python hands over features × batch; the output keeps the batch; gradients agree with Zygote's
    rng = MersenneTwister(24)
    x, ȳ = randn(rng, 4, 5), randn(rng, 1, 5)
    call = DPRL.Modules.forward(model, x, true)
    @test call.output ≈ model(x)
    grads = DPRL.Modules.backward(call.back, found.paths, found.arrays, ȳ)
    gm, gx = Zygote.gradient((m, a) -> sum(m(a) .* ȳ), model, x)
    @test grads.input ≈ gx && grads.params[1] ≈ gm.layers[1].weight && grads.params[6] ≈ gm.layers[3].bias
    @test DPRL.Modules.forward(model, x, false).back === nothing
    # refusals name the array
    @test_throws ArgumentError DPRL.Modules.parameters(sin)
    @test_throws ArgumentError DPRL.Modules.parameters(Chain(Flux.f64(Dense(2 => 2)), Dense(2 => 1)))
    @test_throws ArgumentError DPRL.Modules.parameters(Dense(ComplexF64[1 2; 3 4], false))
    # train and test modes reach Dropout
    dropped = Chain(Dense(2 => 2), Dropout(0.5))
    DPRL.Modules.set_training!(dropped, false)
    @test dropped.layers[2].active === false
    DPRL.Modules.set_training!(dropped, true)
    @test dropped.layers[2].active === true
    copy_ = DPRL.Modules.snapshot(model)
    @test copy_.layers[1].weight == model.layers[1].weight && copy_.layers[1].weight !== model.layers[1].weight
end
