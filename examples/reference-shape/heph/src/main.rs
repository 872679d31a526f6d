fn main() {
    println!("{}", heph::exercise(2));
}
