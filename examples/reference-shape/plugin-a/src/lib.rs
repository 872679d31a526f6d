pub fn exercise(rounds: usize) -> u64 {
    let mut total = 0u64;
    total = total.wrapping_add(shared_002::shared_002_fold_0(&vec![3u8, 1, 2], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_0(&vec![3u32, 1, 2], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_0(&vec![-3i64, 1, 2], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_0(&vec!["b".to_string(), "a".to_string()], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_0(&vec![(1u16, 'x'), (0, 'y')], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_0(&vec![vec![1u8], vec![]], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_1(&vec![3u8, 1, 2], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_1(&vec![3u32, 1, 2], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_1(&vec![-3i64, 1, 2], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_1(&vec!["b".to_string(), "a".to_string()], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_1(&vec![(1u16, 'x'), (0, 'y')], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_1(&vec![vec![1u8], vec![]], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_2(&vec![3u8, 1, 2], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_2(&vec![3u32, 1, 2], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_2(&vec![-3i64, 1, 2], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_2(&vec!["b".to_string(), "a".to_string()], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_2(&vec![(1u16, 'x'), (0, 'y')], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_2(&vec![vec![1u8], vec![]], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_3(&vec![3u8, 1, 2], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_3(&vec![3u32, 1, 2], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_3(&vec![-3i64, 1, 2], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_3(&vec!["b".to_string(), "a".to_string()], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_3(&vec![(1u16, 'x'), (0, 'y')], rounds));
    total = total.wrapping_add(shared_002::shared_002_fold_3(&vec![vec![1u8], vec![]], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_0(&vec![3u8, 1, 2], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_0(&vec![3u32, 1, 2], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_0(&vec![-3i64, 1, 2], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_0(&vec!["b".to_string(), "a".to_string()], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_0(&vec![(1u16, 'x'), (0, 'y')], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_0(&vec![vec![1u8], vec![]], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_1(&vec![3u8, 1, 2], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_1(&vec![3u32, 1, 2], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_1(&vec![-3i64, 1, 2], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_1(&vec!["b".to_string(), "a".to_string()], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_1(&vec![(1u16, 'x'), (0, 'y')], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_1(&vec![vec![1u8], vec![]], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_2(&vec![3u8, 1, 2], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_2(&vec![3u32, 1, 2], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_2(&vec![-3i64, 1, 2], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_2(&vec!["b".to_string(), "a".to_string()], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_2(&vec![(1u16, 'x'), (0, 'y')], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_2(&vec![vec![1u8], vec![]], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_3(&vec![3u8, 1, 2], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_3(&vec![3u32, 1, 2], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_3(&vec![-3i64, 1, 2], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_3(&vec!["b".to_string(), "a".to_string()], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_3(&vec![(1u16, 'x'), (0, 'y')], rounds));
    total = total.wrapping_add(shared_003::shared_003_fold_3(&vec![vec![1u8], vec![]], rounds));
    total
}

#[no_mangle]
pub extern "C" fn plugin_entry(rounds: usize) -> u64 {
    exercise(rounds)
}
