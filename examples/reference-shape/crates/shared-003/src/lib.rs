pub use shared_000;
pub use shared_001;
use std::collections::BTreeMap;
use std::fmt::Debug;

pub trait Shared003Step: Clone + Debug {
    fn weight(&self) -> u64;
}

pub fn shared_003_fold_0<T: Clone + Debug + Ord>(items: &[T], rounds: usize) -> u64 {
    let mut map: BTreeMap<T, u64> = BTreeMap::new();
    for r in 0..rounds {
        for (i, item) in items.iter().enumerate() {
            *map.entry(item.clone()).or_insert(0) += (i * r + 0) as u64;
        }
    }
    let text = format!("{:?}", map.keys().take(3).collect::<Vec<_>>());
    map.values().fold(text.len() as u64, |acc, v| acc.wrapping_mul(31).wrapping_add(*v))
}

pub fn shared_003_fold_1<T: Clone + Debug + Ord>(items: &[T], rounds: usize) -> u64 {
    let mut map: BTreeMap<T, u64> = BTreeMap::new();
    for r in 0..rounds {
        for (i, item) in items.iter().enumerate() {
            *map.entry(item.clone()).or_insert(0) += (i * r + 1) as u64;
        }
    }
    let text = format!("{:?}", map.keys().take(3).collect::<Vec<_>>());
    map.values().fold(text.len() as u64, |acc, v| acc.wrapping_mul(31).wrapping_add(*v))
}

pub fn shared_003_fold_2<T: Clone + Debug + Ord>(items: &[T], rounds: usize) -> u64 {
    let mut map: BTreeMap<T, u64> = BTreeMap::new();
    for r in 0..rounds {
        for (i, item) in items.iter().enumerate() {
            *map.entry(item.clone()).or_insert(0) += (i * r + 2) as u64;
        }
    }
    let text = format!("{:?}", map.keys().take(3).collect::<Vec<_>>());
    map.values().fold(text.len() as u64, |acc, v| acc.wrapping_mul(31).wrapping_add(*v))
}

pub fn shared_003_fold_3<T: Clone + Debug + Ord>(items: &[T], rounds: usize) -> u64 {
    let mut map: BTreeMap<T, u64> = BTreeMap::new();
    for r in 0..rounds {
        for (i, item) in items.iter().enumerate() {
            *map.entry(item.clone()).or_insert(0) += (i * r + 3) as u64;
        }
    }
    let text = format!("{:?}", map.keys().take(3).collect::<Vec<_>>());
    map.values().fold(text.len() as u64, |acc, v| acc.wrapping_mul(31).wrapping_add(*v))
}
