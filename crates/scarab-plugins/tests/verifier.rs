//! The bytecode verifier: rejects code that would pop arithmetic operands from a
//! short stack (undefined behaviour in Fusabi 0.35 release builds), bad jumps and bad
//! constant indices, and accepts everything the compiler produces.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use scarab_plugins::fusabi::bytecode::{compile_source, decode_fzb, encode_fzb, verify_chunk};
use scarab_plugins::fusabi_vm::{Chunk, Closure, Instruction as I, Value};
use scarab_plugins::{FusabiPlugin, FusabiRuntime, LoadError, VmTemplate};

fn chunk(code: Vec<I>, constants: Vec<Value>) -> Chunk {
    let mut c = Chunk::new();
    c.instructions = code;
    c.constants = constants;
    c
}

fn rejects(c: &Chunk) -> String {
    match verify_chunk(c, Path::new("evil.fzb")) {
        Err(LoadError::Unverified { path, reason }) => {
            assert_eq!(path, Path::new("evil.fzb"));
            reason
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn arithmetic_on_an_empty_stack_is_rejected() {
    for op in [I::Add, I::Sub, I::Mul, I::Div] {
        let reason = rejects(&chunk(vec![op.clone(), I::Return], vec![]));
        assert!(reason.contains("instruction 0"), "{reason}");
        let one = rejects(&chunk(
            vec![I::LoadConst(0), op, I::Return],
            vec![Value::Int(1)],
        ));
        assert!(one.contains("instruction 1"), "{one}");
    }
}

#[test]
fn a_short_stack_on_one_path_is_rejected() {
    // if c then push 1 else (nothing); add
    let code = vec![
        I::LoadConst(0),   // 0: c
        I::LoadConst(1),   // 1: 2
        I::LoadConst(0),   // 2: c
        I::JumpIfFalse(1), // 3: skip the push on false
        I::LoadConst(1),   // 4
        I::Add,            // 5: depth 2 on one path, 3 on the other... after Pop below
        I::Pop,
        I::Add, // 7: depth 0 or 1 here
        I::Return,
    ];
    let reason = rejects(&chunk(code, vec![Value::Bool(true), Value::Int(2)]));
    assert!(reason.contains("instruction 7"), "{reason}");
}

#[test]
fn nested_functions_are_checked_with_their_arity() {
    // One argument on the stack is not two operands.
    let body = chunk(vec![I::Add, I::Return], vec![]);
    let mut f = Closure::new(body);
    f.arity = 1;
    f.name = Some("bad_fn".into());
    let top = chunk(
        vec![I::MakeClosure(0, 0), I::Return],
        vec![Value::Closure(Arc::new(f))],
    );
    let reason = rejects(&top);
    assert!(reason.contains("bad_fn"), "{reason}");

    let body = chunk(
        vec![I::LoadLocal(0), I::LoadLocal(1), I::Add, I::Return],
        vec![],
    );
    let mut g = Closure::new(body);
    g.arity = 2;
    let top = chunk(
        vec![I::MakeClosure(0, 0), I::Return],
        vec![Value::Closure(Arc::new(g))],
    );
    verify_chunk(&top, Path::new("ok.fzb")).unwrap();
}

#[test]
fn jumps_out_of_the_function_are_rejected() {
    let reason = rejects(&chunk(vec![I::Jump(5), I::Return], vec![]));
    assert!(reason.contains("leaves the function"), "{reason}");
    rejects(&chunk(vec![I::Jump(-3), I::Return], vec![]));
}

#[test]
fn constant_indices_out_of_range_are_rejected() {
    rejects(&chunk(vec![I::LoadConst(0), I::Return], vec![]));
    rejects(&chunk(
        vec![I::LoadGlobal(3), I::Return],
        vec![Value::Int(1)],
    ));
    let reason = rejects(&chunk(
        vec![I::MakeClosure(0, 0), I::Return],
        vec![Value::Int(1)],
    ));
    assert!(reason.contains("not a function"), "{reason}");
}

#[test]
fn rejected_bytecode_files_never_run() {
    let evil = chunk(vec![I::Add, I::Return], vec![]);
    let bytes = encode_fzb(&evil, Path::new("evil.fzb")).unwrap();
    let err = FusabiPlugin::from_bytes(bytes, "evil.fzb", FusabiRuntime::default()).unwrap_err();
    assert!(matches!(err, LoadError::Unverified { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("evil.fzb: bytecode rejected"),
        "{err}"
    );
}

#[test]
fn compiled_programs_pass() {
    let programs = [
        "1 + 2 * 3 - 4 / 2",
        "let f x y = x + y in f 1 2",
        "let rec fact n = if n <= 1 then 1 else n * fact (n - 1) in fact 5",
        "let xs = [1; 2; 3] in List.map (fun x -> x * 2) xs",
        "match 3 with | 3 -> 1 | _ -> 0",
        "let t = (1, 2) in match t with | (a, b) -> a + b",
        "let r = { a = 1; b = 2 } in r.a + r.b",
        "let mutable i = 0 in while i < 3 do i <- i + 1",
    ];
    for src in programs {
        match compile_source(src, Path::new("p.fsx")) {
            Ok(c) => verify_chunk(&c, Path::new("p.fsx")).unwrap_or_else(|e| panic!("{src}: {e}")),
            Err(e) => panic!("{src}: {e}"),
        }
    }
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/plugins")).unwrap() {
        let path = entry.unwrap().path();
        let src = std::fs::read_to_string(&path).unwrap();
        let c = compile_source(&src, &path).unwrap();
        verify_chunk(&c, &path).unwrap();
        let back = decode_fzb(&encode_fzb(&c, &path).unwrap(), &path).unwrap();
        assert_eq!(back, c);
    }
}

fn instruction() -> impl Strategy<Value = I> {
    prop_oneof![
        (0u16..3).prop_map(I::LoadConst),
        (0u8..3).prop_map(I::LoadLocal),
        (0u8..3).prop_map(I::StoreLocal),
        Just(I::Pop),
        Just(I::Dup),
        Just(I::Add),
        Just(I::Sub),
        Just(I::Mul),
        Just(I::Div),
        Just(I::Concat),
        Just(I::Lt),
        Just(I::Eq),
        Just(I::Not),
        (0u16..3).prop_map(I::MakeTuple),
        (0u16..3).prop_map(I::MakeList),
        Just(I::Cons),
        (0i16..4).prop_map(I::Jump),
        (0i16..4).prop_map(I::JumpIfFalse),
        (0u8..3).prop_map(I::Call),
        Just(I::Return),
    ]
}

// Release builds of Fusabi 0.35 read freed memory on a short arithmetic pop instead
// of panicking, so this property only runs where that pop is checked (debug builds).
#[cfg(debug_assertions)]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever the verifier accepts runs without a panic (in a debug build, Fusabi's
    /// unchecked pops assert, so a verifier hole shows up as a panic here).
    #[test]
    fn accepted_code_never_pops_an_empty_stack(code in prop::collection::vec(instruction(), 0..24)) {
        let c = chunk(code, vec![Value::Int(3), Value::Int(0), Value::Str("s".into())]);
        if verify_chunk(&c, Path::new("r.fzb")).is_ok() {
            let template = VmTemplate::default();
            let mut vm = template.instantiate();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| vm.execute(c.clone())));
            prop_assert!(r.is_ok(), "accepted code panicked: {:?}", c.instructions);
        }
    }
}

/// Small well-formed Fusabi expressions over ints.
fn int_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (0i64..100).prop_map(|n| n.to_string()),
        Just("x".to_owned()),
    ];
    leaf.prop_recursive(4, 32, 3, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop_oneof![Just("+"), Just("-"), Just("*")],
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, t, e)| format!("(if {c} > 10 then {t} else {e})")),
            (inner.clone(), inner.clone()).prop_map(|(v, b)| format!("(let x = {v} in {b})")),
            (inner.clone(), inner.clone())
                .prop_map(|(body, arg)| format!("(let f x = {body} in f {arg})")),
            inner.prop_map(|e| format!("(let xs = [{e}; 1] in List.length xs + {e})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The verifier accepts what the compiler produces, and that code runs.
    #[test]
    fn compiled_expressions_are_accepted(e in int_expr()) {
        let src = format!("let x = 7 in {e}");
        let chunk = compile_source(&src, Path::new("g.fsx"));
        prop_assume!(chunk.is_ok());
        let chunk = chunk.unwrap();
        prop_assert!(verify_chunk(&chunk, Path::new("g.fsx")).is_ok(), "{}", src);
        let template = VmTemplate::default();
        let mut vm = template.instantiate();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| vm.execute(chunk)));
        prop_assert!(r.is_ok(), "{}", src);
    }
}
