let chapter5: [ExerciseInfo] = []
let chapter6: [ExerciseInfo] = []
let chapter7: [ExerciseInfo] = []
let chapter8: [ExerciseInfo] = []
